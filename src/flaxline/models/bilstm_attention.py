"""Bidirectional LSTM with attention pooling, after Flax's own SST-2 example."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from flaxline.models.embedding import token_embedding
from flaxline.models.pooling import real_positions


class BiLSTMAttentionClassifier(nnx.Module):
    """Embedding → dropout → BiLSTM → attention pooling over real tokens → MLP → dropout → logits."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        *,
        embed_dim: int = 256,
        hidden_dim: int = 256,
        mlp_dim: int = 1024,
        dropout: float = 0.5,
        token_dropout: float = 0.0,
        subword_buckets: int = 0,
        rngs: nnx.Rngs,
    ):
        self.hidden_dim = hidden_dim
        self.embed = token_embedding(vocab_size, embed_dim, subword_buckets, rngs)
        self.embed_dropout = nnx.Dropout(dropout, rngs=rngs)
        # Zeroes whole token vectors while training (word dropout).
        self.token_dropout = nnx.Dropout(token_dropout, broadcast_dims=(-1,), rngs=rngs)
        self.forward_lstm = nnx.RNN(nnx.OptimizedLSTMCell(embed_dim, hidden_dim, rngs=rngs))
        self.backward_lstm = nnx.RNN(nnx.OptimizedLSTMCell(embed_dim, hidden_dim, rngs=rngs), reverse=True, keep_order=True)
        self.attention_key = nnx.Linear(2 * hidden_dim, 2 * hidden_dim, rngs=rngs)
        self.attention_query = nnx.Param(jax.random.normal(rngs.params(), (2 * hidden_dim,)) * 0.02)
        self.hidden = nnx.Linear(2 * hidden_dim, mlp_dim, rngs=rngs)
        self.output_dropout = nnx.Dropout(dropout, rngs=rngs)
        self.head = nnx.Linear(mlp_dim, num_classes, rngs=rngs)

    def __call__(self, ids: jax.Array, lengths: jax.Array) -> jax.Array:
        inputs = self.token_dropout(self.embed_dropout(self.embed(ids)))
        zeros = jnp.zeros((ids.shape[0], self.hidden_dim), inputs.dtype)
        forward = self.forward_lstm(inputs, initial_carry=(zeros, zeros), seq_lengths=lengths)
        backward = self.backward_lstm(inputs, initial_carry=(zeros, zeros), seq_lengths=lengths)
        states = jnp.concatenate([forward, backward], axis=-1)
        scores = jnp.tanh(self.attention_key(states)) @ self.attention_query[...]
        scores = jnp.where(real_positions(lengths, ids.shape[1])[..., 0], scores, -1e9)
        weights = jax.nn.softmax(scores, axis=-1)
        pooled = jnp.einsum("bl,bld->bd", weights, states)
        return self.head(self.output_dropout(nnx.relu(self.hidden(pooled))))
