"""The reference model: Embedding → LSTM → Dense (logits; softmax is applied by the loss)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from flaxline.models.pooling import POOLINGS, masked_max, masked_mean


class LSTMClassifier(nnx.Module):
    """Classifies a padded sequence from its LSTM states.

    ``pooling`` picks what the classifier sees: ``last`` (the state at the last real token,
    the reference model), or the ``mean`` or ``max`` of the states over the real tokens.
    ``lengths`` stops the recurrence at each sequence's end and masks the pooling, so
    padding never changes the logits.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        embed_dim: int = 128,
        hidden_dim: int = 256,
        dropout: float = 0.0,
        token_dropout: float = 0.0,
        pooling: str = "last",
        rngs: nnx.Rngs,
    ):
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
        self.pooling = pooling
        self.hidden_dim = hidden_dim
        self.embed = nnx.Embed(vocab_size, embed_dim, rngs=rngs)
        self.lstm = nnx.RNN(nnx.OptimizedLSTMCell(embed_dim, hidden_dim, rngs=rngs), return_carry=True)
        # Zeroes whole token vectors while training: a word-dropout regulariser for small corpora.
        self.token_dropout = nnx.Dropout(token_dropout, broadcast_dims=(-1,), rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(hidden_dim, num_classes, rngs=rngs)

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        # An explicit zero carry: the cell's own initializer would draw from (and mutate) its RNG.
        zeros = jnp.zeros((ids.shape[0], self.hidden_dim), self.head.kernel.dtype)
        (_, last_hidden), states = self.lstm(
            self.token_dropout(self.embed(ids)), initial_carry=(zeros, zeros), seq_lengths=lengths
        )
        if self.pooling == "last":
            pooled = last_hidden
        elif self.pooling == "mean":
            pooled = masked_mean(states, lengths)
        else:
            pooled = masked_max(states, lengths)
        return self.head(self.dropout(pooled))
