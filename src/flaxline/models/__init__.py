"""The model zoo, chosen by name: ``build_model(name, vocab_size=..., num_classes=..., seed=..., **hyper)``.

A model is an ``nnx.Module`` mapping (token ids [B, L], lengths [B]) to logits [B, C]; while
training, an ``ensemble`` returns its members' logits stacked [members, B, C] instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from flax import nnx

from flaxline.errors import InputError
from flaxline.models.bilstm_attention import BiLSTMAttentionClassifier
from flaxline.models.cnn import CNNClassifier
from flaxline.models.embedding import attach_subwords
from flaxline.models.ensemble import Ensemble
from flaxline.models.lstm import LSTMClassifier
from flaxline.models.transformer import TransformerClassifier

MODELS: dict[str, type[nnx.Module]] = {
    "lstm": LSTMClassifier,
    "bilstm_attention": BiLSTMAttentionClassifier,
    "transformer": TransformerClassifier,
    "cnn": CNNClassifier,
    "ensemble": Ensemble,
}


def build_model(
    name: str, *, vocab_size: int, num_classes: int, seed: int = 0, vocabulary: Sequence[str] | None = None, **hyperparameters
) -> nnx.Module:
    """Instantiate the model registered as ``name``.

    ``vocabulary`` (the tokens in id order) spells the tokens for models with ``subword_buckets``;
    a model loaded from a file gets its subword table from there instead.
    """
    if name not in MODELS:
        raise InputError(f"unknown model '{name}'; known models: {', '.join(sorted(MODELS))}")
    try:
        model = MODELS[name](vocab_size, num_classes, rngs=nnx.Rngs(seed), **hyperparameters)
        if vocabulary is not None:
            attach_subwords(model, vocabulary)
    except (TypeError, ValueError) as error:
        raise InputError(f"model '{name}': {error}") from None
    return model
