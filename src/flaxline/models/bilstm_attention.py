"""Bidirectional LSTM with attention pooling, after Flax's own SST-2 example."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.models.base import TokenInputs, ZooModel
from flaxline.models.embedding import SubwordBuckets, WordVectors, token_embedding
from flaxline.models.pooling import real_positions


class BiLSTMAttentionSpec(Settings):
    """Embedding → dropout → BiLSTM → attention pooling over real tokens → MLP → dropout → logits."""

    name: Literal["bilstm_attention"] = "bilstm_attention"
    embed_dim: PositiveInt = 256
    hidden_dim: PositiveInt = Field(256, description="LSTM units in each direction")
    mlp_dim: PositiveInt = 1024
    dropout: float = Field(0.5, ge=0.0, lt=1.0, description="on the embeddings and before the output layer")
    token_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="share of whole token vectors zeroed while training")
    subword_buckets: SubwordBuckets = 0
    word_vectors: WordVectors = None


class BiLSTMAttentionClassifier(ZooModel):
    def __init__(self, spec: BiLSTMAttentionSpec, inputs: TokenInputs, outputs: int, *, rngs: nnx.Rngs):
        embed_dim, hidden_dim = spec.embed_dim, spec.hidden_dim
        self.hidden_dim = hidden_dim
        self.embed = token_embedding(inputs, embed_dim, spec.subword_buckets, rngs, spec.word_vectors)
        self.embed_dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        # Zeroes whole token vectors while training (word dropout).
        self.token_dropout = nnx.Dropout(spec.token_dropout, broadcast_dims=(-1,), rngs=rngs)
        self.forward_lstm = nnx.RNN(nnx.OptimizedLSTMCell(embed_dim, hidden_dim, rngs=rngs))
        self.backward_lstm = nnx.RNN(
            nnx.OptimizedLSTMCell(embed_dim, hidden_dim, rngs=rngs), reverse=True, keep_order=True
        )
        self.attention_key = nnx.Linear(2 * hidden_dim, 2 * hidden_dim, rngs=rngs)
        self.attention_query = nnx.Param(jax.random.normal(rngs.params(), (2 * hidden_dim,)) * 0.02)
        self.hidden = nnx.Linear(2 * hidden_dim, spec.mlp_dim, rngs=rngs)
        self.output_dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        self.head = nnx.Linear(spec.mlp_dim, outputs, rngs=rngs)

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        ids, lengths = batch["ids"], batch["lengths"]
        inputs = self.token_dropout(self.embed_dropout(self.embed(ids)))
        zeros = jnp.zeros((ids.shape[0], self.hidden_dim), inputs.dtype)
        forward = self.forward_lstm(inputs, initial_carry=(zeros, zeros), seq_lengths=lengths)
        backward = self.backward_lstm(inputs, initial_carry=(zeros, zeros), seq_lengths=lengths)
        states = jnp.concatenate([forward, backward], axis=-1)
        scores = jnp.dot(jnp.tanh(self.attention_key(states)), self.attention_query[...])
        scores = jnp.where(real_positions(lengths, ids.shape[1])[..., 0], scores, -1e9)
        weights = jax.nn.softmax(scores, axis=-1)
        pooled = jnp.einsum("bl,bld->bd", weights, states)
        return self.head(self.output_dropout(nnx.relu(self.hidden(pooled))))
