"""A convolutional text classifier: parallel filter widths, max-over-time pooling (Kim, 2014)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from flaxline.models.embedding import token_embedding
from flaxline.models.pooling import masked_max, real_positions


class CNNClassifier(nnx.Module):
    """Embedding → one convolution per width → ReLU → max over real positions → dropout → logits.

    Embeddings at padding positions are zeroed, which is what ``SAME`` padding adds past the
    end, so a sentence gives the same logits however much padding follows it.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        embed_dim: int = 128,
        filters: int = 128,
        widths: tuple[int, ...] = (3, 4, 5),
        dropout: float = 0.5,
        subword_buckets: int = 0,
        rngs: nnx.Rngs,
    ):
        self.embed = token_embedding(vocab_size, embed_dim, subword_buckets, rngs)
        self.convolutions = nnx.List(
            [nnx.Conv(embed_dim, filters, kernel_size=(width,), padding="SAME", rngs=rngs) for width in widths]
        )
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(filters * len(widths), num_classes, rngs=rngs)

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        inputs = self.embed(ids) * real_positions(lengths, ids.shape[1])
        pooled = [masked_max(nnx.relu(convolution(inputs)), lengths) for convolution in self.convolutions]
        return self.head(self.dropout(jnp.concatenate(pooled, axis=-1)))
