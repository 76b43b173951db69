"""A pre-LayerNorm Transformer encoder classifier with padding masks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from flaxline.models.embedding import token_embedding
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


class TransformerClassifier(nnx.Module):
    """Token + learned position embeddings → pre-LN encoder blocks → final LN → mean or CLS pooling → logits.

    Padding positions are masked as attention keys and left out of the pooling.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        dim: int = 128,
        heads: int = 4,
        layers: int = 2,
        mlp_dim: int = 256,
        max_length: int = 128,
        dropout: float = 0.1,
        pooling: str = "mean",
        subword_buckets: int = 0,
        rngs: nnx.Rngs,
    ):
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be mean or cls, not {pooling!r}")
        self.pooling = pooling
        self.embed = token_embedding(vocab_size, dim, subword_buckets, rngs)
        self.positions = nnx.Embed(max_length + 1, dim, rngs=rngs)
        self.cls = nnx.Param(jax.random.normal(rngs.params(), (dim,)) * 0.02)
        self.blocks = nnx.List([EncoderBlock(dim, heads, mlp_dim, dropout, rngs=rngs) for _ in range(layers)])
        self.final_norm = nnx.LayerNorm(dim, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(dim, num_classes, rngs=rngs)

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        batch, width = ids.shape
        x = self.embed(ids)
        if self.pooling == "cls":
            x = jnp.concatenate([jnp.broadcast_to(self.cls[...], (batch, 1, x.shape[-1])), x], axis=1)
            lengths, width = lengths + 1, width + 1
        x = self.dropout(x + self.positions(jnp.arange(width))[None])
        real = real_positions(lengths, width)[..., 0]
        mask = nnx.make_attention_mask(real, real)
        for block in self.blocks:
            x = block(x, mask)
        x = self.final_norm(x)
        pooled = x[:, 0] if self.pooling == "cls" else masked_mean(x, lengths)
        return self.head(pooled)
