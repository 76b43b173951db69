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
from flaxline.models.lstm import LSTMLayer, projection_table
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
        self.embed = token_embedding(inputs, embed_dim, spec.subword_buckets, rngs, spec.word_vectors)
        self.embed_dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        # Zeroes whole token vectors while training (word dropout).
        self.token_dropout = nnx.Dropout(spec.token_dropout, broadcast_dims=(-1,), rngs=rngs)
        self.forward_lstm = LSTMLayer(embed_dim, hidden_dim, rngs=rngs)
        self.backward_lstm = LSTMLayer(embed_dim, hidden_dim, reverse=True, rngs=rngs)
        self.attention_key = nnx.Linear(2 * hidden_dim, 2 * hidden_dim, rngs=rngs)
        self.attention_query = nnx.Param(jax.random.normal(rngs.params(), (2 * hidden_dim,)) * 0.02)
        self.hidden = nnx.Linear(2 * hidden_dim, spec.mlp_dim, rngs=rngs)
        self.output_dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        self.head = nnx.Linear(spec.mlp_dim, outputs, rngs=rngs)
        self.projection_table: nnx.Variable | None = nnx.data(None)

    def for_inference(self) -> BiLSTMAttentionClassifier:
        """A copy in evaluation mode whose input projections, both directions', are looked up, not computed."""
        model = nnx.clone(self)
        model.eval()
        model.projection_table = projection_table(model.embed, model.forward_lstm, model.backward_lstm)
        return model

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        ids, lengths = batch["ids"], batch["lengths"]
        if self.projection_table is not None:
            forward_part, backward_part = jnp.split(self.projection_table[...][ids], 2, axis=-1)
            _, forward = self.forward_lstm(None, lengths, projected=forward_part)
            _, backward = self.backward_lstm(None, lengths, projected=backward_part)
        else:
            inputs = self.token_dropout(self.embed_dropout(self.embed(ids)))
            _, forward = self.forward_lstm(inputs, lengths)
            _, backward = self.backward_lstm(inputs, lengths)
        states = jnp.concatenate([forward, backward], axis=-1)
        scores = jnp.dot(jnp.tanh(self.attention_key(states)), self.attention_query[...])
        scores = jnp.where(real_positions(lengths, ids.shape[1])[..., 0], scores, -1e9)
        weights = jax.nn.softmax(scores, axis=-1)
        pooled = jnp.einsum("bl,bld->bd", weights, states)
        return self.head(self.output_dropout(nnx.relu(self.hidden(pooled))))
