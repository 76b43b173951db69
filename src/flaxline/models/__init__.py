"""The model zoo, chosen by name:
``build_model(ModelConfig(model={"name": "lstm", ...}, inputs=..., outputs=...))``.

A model maps a batch (a dict of arrays) to logits [B, C], or to a dict of outputs (a rating
model's rating and penalty); while training, an ``ensemble`` returns its members' outputs stacked
[members, ...] instead, and ``training_loss`` gives it the loss that trains each member on its
own. Each model's settings class lives beside it; a new model is a module, a line in ``MODELS``
and its settings in the two unions below.
"""

from __future__ import annotations

from typing import Annotated

from flax import nnx
from pydantic import Field

from flaxline.compression.quantization import QuantizationSpec, quantized
from flaxline.config import Settings
from flaxline.errors import InputError
from flaxline.models.base import ImageInputs, ModelInputs, RatingInputs, TokenInputs, ZooModel
from flaxline.models.bilstm_attention import BiLSTMAttentionClassifier, BiLSTMAttentionSpec
from flaxline.models.cnn import CNNClassifier, CNNSpec
from flaxline.models.cnn2d import CNN2DClassifier, CNN2DSpec
from flaxline.models.ensemble import Ensemble, EnsembleSpec
from flaxline.models.factorization import BiasedMF, BiasedMFSpec, NeuralCF, NeuralCFSpec
from flaxline.models.lstm import LSTMClassifier, LSTMSpec
from flaxline.models.pretrained_encoder import PretrainedEncoderClassifier, PretrainedEncoderSpec
from flaxline.models.resnet import ResNetClassifier, ResNetSpec
from flaxline.models.transformer import TransformerClassifier, TransformerSpec

MODELS: dict[str, type[ZooModel]] = {
    "lstm": LSTMClassifier,
    "bilstm_attention": BiLSTMAttentionClassifier,
    "transformer": TransformerClassifier,
    "pretrained_encoder": PretrainedEncoderClassifier,
    "cnn": CNNClassifier,
    "cnn2d": CNN2DClassifier,
    "resnet": ResNetClassifier,
    "biased_mf": BiasedMF,
    "neural_cf": NeuralCF,
    "ensemble": Ensemble,
}

# An ensemble averages class probabilities or ratings: its members are any model trained from scratch.
MemberSpec = Annotated[
    LSTMSpec | BiLSTMAttentionSpec | TransformerSpec | CNNSpec | CNN2DSpec | ResNetSpec | BiasedMFSpec | NeuralCFSpec,
    Field(discriminator="name"),
]
ModelSpec = Annotated[
    LSTMSpec
    | BiLSTMAttentionSpec
    | TransformerSpec
    | PretrainedEncoderSpec
    | CNNSpec
    | CNN2DSpec
    | ResNetSpec
    | BiasedMFSpec
    | NeuralCFSpec
    | EnsembleSpec,
    Field(discriminator="name"),
]
EnsembleSpec.model_rebuild(_types_namespace={"MemberSpec": MemberSpec})


class ModelConfig(Settings):
    """Everything that rebuilds a model: its settings, the inputs it reads, its outputs and its initialisation seed."""

    model: ModelSpec
    inputs: ModelInputs
    outputs: int = Field(ge=1, description="the width of the model's output: the number of classes, or 1")
    seed: int = 0
    temperature: float = Field(
        1.0, gt=0.0, description="a classifier's probabilities are softmax(logits / temperature): fitted after training"
    )
    classes: tuple[str, ...] | None = Field(None, description="the class of each output (classifiers)")
    encoding_digest: str | None = Field(
        None, description="SHA-256 of the encoding it was trained on: which tokenizer version is its own"
    )
    quantization: QuantizationSpec | None = Field(
        None, description="how its weights were quantized (flaxline.compression); null: float32"
    )
    compression: str | None = Field(None, description="how it was derived from a trained model, in words")


def build_model(config: ModelConfig) -> ZooModel:
    """Instantiate the model ``config`` describes, initialised from its seed (and quantized as it says)."""
    reads = MODELS[config.model.name].reads(config.model)
    if not isinstance(config.inputs, reads):
        reads_type, given = reads.model_fields["type"].default, config.inputs.type
        raise InputError(f"model '{config.model.name}' reads {reads_type}, but this task's inputs are {given}")
    model = MODELS[config.model.name](config.model, config.inputs, config.outputs, rngs=nnx.Rngs(config.seed))
    return model if config.quantization is None else quantized(model, config.quantization, config.inputs)


def initial_model(config: ModelConfig) -> tuple[ModelConfig, ZooModel]:
    """The model to train from ``config``: completed with what its settings name (a pretrained architecture) and
    holding the pretrained weights they name, if any; with the configuration that rebuilds it."""
    config = config.model_copy(update={"model": MODELS[config.model.name].completed(config.model)})
    model = build_model(config)
    model.load_pretrained()
    return config, model


__all__ = [
    "MODELS",
    "ImageInputs",
    "ModelConfig",
    "ModelInputs",
    "ModelSpec",
    "RatingInputs",
    "TokenInputs",
    "ZooModel",
    "build_model",
    "initial_model",
]
