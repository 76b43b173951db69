"""Training a model of the zoo from its settings: the one function the training node, the benchmarks and the tests
call."""

from __future__ import annotations

from pydantic import Field

from flaxline.config import Settings
from flaxline.engine.checkpoints import TrainingCheckpoints
from flaxline.engine.loop import LoopSpec, Losses, TrainingData, fit
from flaxline.engine.optim import OptimizerSpec, build_optimizer
from flaxline.losses import LossSpec, make_loss
from flaxline.models import ModelConfig, ModelInputs, ModelSpec, ZooModel, build_model


class TrainingSpec(Settings):
    """A model of the zoo, how to optimise it, the loop that trains it and the loss it minimises."""

    model: ModelSpec = Field(description="any model of flaxline.models.MODELS by name, with its settings")
    optimizer: OptimizerSpec = OptimizerSpec()
    loop: LoopSpec = LoopSpec()
    loss: LossSpec = LossSpec()


def train(
    spec: TrainingSpec,
    data: TrainingData,
    inputs: ModelInputs,
    num_classes: int,
    checkpoints: TrainingCheckpoints | None = None,
) -> tuple[ZooModel, ModelConfig, list[dict]]:
    """Build ``spec.model`` for ``inputs`` and ``num_classes``, train it on ``data``; the model, what rebuilds it, its
    history."""
    config = ModelConfig(model=spec.model, inputs=inputs, num_classes=num_classes, seed=spec.loop.seed)
    model = build_model(config)
    loss = make_loss(spec.loss, data.train, num_classes)
    steps = spec.loop.batching(data.token_arrays).steps(data.train)
    tx = build_optimizer(spec.optimizer, total_steps=spec.loop.epochs * steps)
    history = fit(model, tx, data, spec.loop, Losses(train=model.training_loss(loss), evaluate=loss), checkpoints)
    return model, config, history
