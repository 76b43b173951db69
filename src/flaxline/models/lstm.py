"""The reference model: Embedding → LSTM → Dense (logits; softmax is applied by the loss)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class LSTMClassifier(nnx.Module):
    """Classifies a padded sequence from the LSTM state at its last real token.

    ``lengths`` stops the recurrence at each sequence's end, so padding never changes
    the logits.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        embed_dim: int = 128,
        hidden_dim: int = 256,
        dropout: float = 0.0,
        rngs: nnx.Rngs,
    ):
        self.hidden_dim = hidden_dim
        self.embed = nnx.Embed(vocab_size, embed_dim, rngs=rngs)
        self.lstm = nnx.RNN(nnx.OptimizedLSTMCell(embed_dim, hidden_dim, rngs=rngs), return_carry=True)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(hidden_dim, num_classes, rngs=rngs)

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        # An explicit zero carry: the cell's own initializer would draw from (and mutate) its RNG.
        zeros = jnp.zeros((ids.shape[0], self.hidden_dim), self.head.kernel.dtype)
        (_, last_hidden), _ = self.lstm(self.embed(ids), initial_carry=(zeros, zeros), seq_lengths=lengths)
        return self.head(self.dropout(last_hidden))
