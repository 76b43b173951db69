"""Training a model of the zoo from its settings: the one function that the training node, the benchmarks and the
tests call."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from flaxline.config import Settings
from flaxline.engine.checkpoints import TrainingCheckpoints
from flaxline.engine.devices import Placement
from flaxline.engine.loop import LoopSpec, Losses, TrainingData, fit
from flaxline.engine.optim import OptimizerSpec, build_optimizer
from flaxline.losses import LossSpec, SoftmaxCrossEntropySpec, make_loss
from flaxline.models import ModelConfig, ModelInputs, ModelSpec, ZooModel, initial_model


class TrainingSpec(Settings):
    """A model of the zoo, how to optimise it, the loop that trains it and the loss it minimises."""

    model: ModelSpec = Field(description="any model of flaxline.models.MODELS by name, with its settings")
    optimizer: OptimizerSpec = OptimizerSpec()
    loop: LoopSpec = LoopSpec()
    loss: LossSpec = Field(SoftmaxCrossEntropySpec(), description="by name: softmax_cross_entropy, mean_squared_error")


@dataclass(frozen=True)
class Trained:
    """A trained model, the configuration that rebuilds it, its history (one record per epoch) and where it trained."""

    model: ZooModel
    config: ModelConfig
    history: list[dict]
    placement: Placement


def train(
    spec: TrainingSpec,
    data: TrainingData,
    inputs: ModelInputs,
    outputs: int,
    checkpoints: TrainingCheckpoints | None = None,
) -> Trained:
    """Build ``spec.model`` for ``inputs`` and ``outputs``, and train it on ``data`` (``engine.loop.fit``)."""
    config, model = initial_model(ModelConfig(model=spec.model, inputs=inputs, outputs=outputs, seed=spec.loop.seed))
    loss = make_loss(spec.loss, data.train, outputs)
    steps = spec.loop.batching(data.token_arrays).steps(data.train)
    tx = build_optimizer(spec.optimizer, total_steps=spec.loop.epochs * steps, depths=model.depths())
    placement = spec.loop.placement()
    losses = Losses(train=model.training_loss(loss), evaluate=loss)
    history = fit(model, tx, data, spec.loop, losses, placement, checkpoints)
    return Trained(model, config, history, placement)
