"""A pre-LayerNorm Transformer encoder classifier with padding masks."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field, PositiveInt, model_validator

from flaxline.config import Settings
from flaxline.models.base import TokenInputs, ZooModel
from flaxline.models.embedding import SubwordBuckets, WordVectors, token_embedding
from flaxline.models.pooling import masked_mean, real_positions


class EncoderBlock(nnx.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float, *, rngs: nnx.Rngs):
        self.attention_norm = nnx.LayerNorm(dim, rngs=rngs)
        self.attention = nnx.MultiHeadAttention(
            num_heads=heads, in_features=dim, dropout_rate=dropout, decode=False, rngs=rngs
        )
        self.mlp_norm = nnx.LayerNorm(dim, rngs=rngs)
        self.mlp_in = nnx.Linear(dim, mlp_dim, rngs=rngs)
        self.mlp_out = nnx.Linear(mlp_dim, dim, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
        x = x + self.dropout(self.attention(self.attention_norm(x), mask=mask))
        return x + self.dropout(self.mlp_out(nnx.gelu(self.mlp_in(self.mlp_norm(x)))))


class TransformerSpec(Settings):
    """Token + learned position embeddings → pre-LN encoder blocks → final LN → mean or CLS pooling → logits."""

    name: Literal["transformer"] = "transformer"
    dim: PositiveInt = 128
    heads: PositiveInt = 4
    layers: PositiveInt = 2
    mlp_dim: PositiveInt = 256
    max_length: PositiveInt = Field(128, description="the longest sequence it embeds positions for")
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    pooling: Literal["mean", "cls"] = Field("mean", description="mean over real tokens, or a learned [CLS] vector")
    subword_buckets: SubwordBuckets = 0
    word_vectors: WordVectors = None

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> TransformerSpec:
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} does not split into {self.heads} heads")
        return self


class TransformerClassifier(ZooModel):
    """Padding positions are masked as attention keys and left out of the pooling."""

    def __init__(self, spec: TransformerSpec, inputs: TokenInputs, outputs: int, *, rngs: nnx.Rngs):
        dim = spec.dim
        self.pooling = spec.pooling
        self.embed = token_embedding(inputs, dim, spec.subword_buckets, rngs, spec.word_vectors)
        self.positions = nnx.Embed(spec.max_length + 1, dim, rngs=rngs)
        self.cls = nnx.Param(jax.random.normal(rngs.params(), (dim,)) * 0.02)
        self.blocks = nnx.List(
            [EncoderBlock(dim, spec.heads, spec.mlp_dim, spec.dropout, rngs=rngs) for _ in range(spec.layers)]
        )
        self.final_norm = nnx.LayerNorm(dim, rngs=rngs)
        self.dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        self.head = nnx.Linear(dim, outputs, rngs=rngs)

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        ids, lengths = batch["ids"], batch["lengths"]
        batch_size, width = ids.shape
        x = self.embed(ids)
        if self.pooling == "cls":
            x = jnp.concatenate([jnp.broadcast_to(self.cls[...], (batch_size, 1, x.shape[-1])), x], axis=1)
            lengths, width = lengths + 1, width + 1
        x = self.dropout(x + self.positions(jnp.arange(width))[None])
        real = real_positions(lengths, width)[..., 0]
        mask = nnx.make_attention_mask(real, real)
        for block in self.blocks:
            x = block(x, mask)
        x = self.final_norm(x)
        pooled = x[:, 0] if self.pooling == "cls" else masked_mean(x, lengths)
        return self.head(pooled)
