"""A convolutional text classifier: parallel filter widths, max-over-time pooling (Kim, 2014)."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.models.base import TokenInputs, ZooModel
from flaxline.models.embedding import SubwordBuckets, WordVectors, token_embedding
from flaxline.models.pooling import masked_max, real_positions


class CNNSpec(Settings):
    """Embedding → one convolution per width → ReLU → max over real positions → dropout → logits."""

    name: Literal["cnn"] = "cnn"
    embed_dim: PositiveInt = 128
    filters: PositiveInt = Field(128, description="filters per width")
    widths: tuple[PositiveInt, ...] = Field((3, 4, 5), min_length=1, description="filter widths in tokens")
    dropout: float = Field(0.5, ge=0.0, lt=1.0)
    subword_buckets: SubwordBuckets = 0
    word_vectors: WordVectors = None


class CNNClassifier(ZooModel):
    """Embeddings at padding positions are zeroed, which is what ``SAME`` padding adds past the
    end, so a sentence gives the same logits however much padding follows it."""

    def __init__(self, spec: CNNSpec, inputs: TokenInputs, outputs: int, *, rngs: nnx.Rngs):
        self.embed = token_embedding(inputs, spec.embed_dim, spec.subword_buckets, rngs, spec.word_vectors)
        self.convolutions = nnx.List(
            [
                nnx.Conv(spec.embed_dim, spec.filters, kernel_size=(width,), padding="SAME", rngs=rngs)
                for width in spec.widths
            ]
        )
        self.dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        self.head = nnx.Linear(spec.filters * len(spec.widths), outputs, rngs=rngs)

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        ids, lengths = batch["ids"], batch["lengths"]
        inputs = self.embed(ids) * real_positions(lengths, ids.shape[1])
        pooled = [masked_max(nnx.relu(convolution(inputs)), lengths) for convolution in self.convolutions]
        return self.head(self.dropout(jnp.concatenate(pooled, axis=-1)))
