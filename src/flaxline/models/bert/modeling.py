"""A BERT-family encoder in ``flax.nnx``, as Hugging Face's ``BertModel`` computes it.

Embeddings of tokens, absolute positions and token types are summed and layer-normalised; each
block is post-LN: self-attention, residual, LayerNorm, then a GELU feed-forward, residual,
LayerNorm. Padding positions are masked as attention keys. Dropout sits where BERT has it: after
the embeddings, on the attention probabilities and after each sub-layer's projection.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field, PositiveInt, model_validator

from flaxline.config import Settings


class BertConfig(Settings):
    """The architecture a checkpoint's ``config.json`` describes (its other keys are not the model's shape)."""

    vocab_size: PositiveInt
    hidden_size: PositiveInt
    num_hidden_layers: PositiveInt
    num_attention_heads: PositiveInt
    intermediate_size: PositiveInt
    max_position_embeddings: PositiveInt
    type_vocab_size: PositiveInt = 2
    layer_norm_eps: float = Field(1e-12, gt=0.0)
    hidden_act: str = Field("gelu", description="gelu: exact (erf); gelu_new, gelu_pytorch_tanh: tanh approximation")
    hidden_dropout_prob: float = Field(0.1, ge=0.0, lt=1.0)
    attention_probs_dropout_prob: float = Field(0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> BertConfig:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} does not split into {self.num_attention_heads} heads")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {self.hidden_act!r} is not one of {', '.join(ACTIVATIONS)}")
        return self


ACTIVATIONS = {
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
}


class Embeddings(nnx.Module):
    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
        init = nnx.initializers.normal(0.02)
        # Named as every text model of the zoo names its token embedding: explanations scale its output.
        self.embed = nnx.Embed(config.vocab_size, config.hidden_size, embedding_init=init, rngs=rngs)
        self.position_embeddings = nnx.Embed(
            config.max_position_embeddings, config.hidden_size, embedding_init=init, rngs=rngs
        )
        self.token_type_embeddings = nnx.Embed(
            config.type_vocab_size, config.hidden_size, embedding_init=init, rngs=rngs
        )
        self.norm = nnx.LayerNorm(config.hidden_size, epsilon=config.layer_norm_eps, rngs=rngs)
        self.dropout = nnx.Dropout(config.hidden_dropout_prob, rngs=rngs)

    def __call__(self, ids: jax.Array, token_types: jax.Array) -> jax.Array:
        positions = jnp.arange(ids.shape[1])[None]
        summed = self.embed(ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_types)
        return self.dropout(self.norm(summed))


class SelfAttention(nnx.Module):
    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
        dim = config.hidden_size
        self.heads = config.num_attention_heads
        self.query, self.key, self.value = (nnx.Linear(dim, dim, rngs=rngs) for _ in range(3))
        self.output = nnx.Linear(dim, dim, rngs=rngs)
        self.norm = nnx.LayerNorm(dim, epsilon=config.layer_norm_eps, rngs=rngs)
        self.attention_dropout = nnx.Dropout(config.attention_probs_dropout_prob, rngs=rngs)
        self.dropout = nnx.Dropout(config.hidden_dropout_prob, rngs=rngs)

    def __call__(self, x: jax.Array, key_mask: jax.Array) -> jax.Array:
        batch, width, dim = x.shape
        size = dim // self.heads

        # Heads as a batch dimension, [B, heads, L, size]: XLA:CPU runs these batched products several times
        # faster than the same contraction written as one einsum over [B, L, heads, size].
        def heads_first(projected: jax.Array) -> jax.Array:
            return projected.reshape(batch, width, self.heads, size).transpose(0, 2, 1, 3)

        query, key, value = heads_first(self.query(x)), heads_first(self.key(x)), heads_first(self.value(x))
        scores = query @ key.transpose(0, 1, 3, 2) / jnp.sqrt(size).astype(x.dtype)
        scores = jnp.where(key_mask[:, None, None, :], scores, jnp.finfo(scores.dtype).min)
        probabilities = self.attention_dropout(jax.nn.softmax(scores, axis=-1))
        attended = (probabilities @ value).transpose(0, 2, 1, 3).reshape(batch, width, dim)
        return self.norm(x + self.dropout(self.output(attended)))


class Layer(nnx.Module):
    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
        self.attention = SelfAttention(config, rngs=rngs)
        self.intermediate = nnx.Linear(config.hidden_size, config.intermediate_size, rngs=rngs)
        self.output = nnx.Linear(config.intermediate_size, config.hidden_size, rngs=rngs)
        self.norm = nnx.LayerNorm(config.hidden_size, epsilon=config.layer_norm_eps, rngs=rngs)
        self.dropout = nnx.Dropout(config.hidden_dropout_prob, rngs=rngs)
        self.activation = ACTIVATIONS[config.hidden_act]

    def __call__(self, x: jax.Array, key_mask: jax.Array) -> jax.Array:
        x = self.attention(x, key_mask)
        return self.norm(x + self.dropout(self.output(self.activation(self.intermediate(x)))))


class BertEncoder(nnx.Module):
    """Token ids [B, L] (right-padded) and their lengths [B] → hidden states [B, L, hidden_size]."""

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
        self.embeddings = Embeddings(config, rngs=rngs)
        self.layers = nnx.List([Layer(config, rngs=rngs) for _ in range(config.num_hidden_layers)])

    def __call__(self, ids: jax.Array, lengths: jax.Array, token_types: jax.Array | None = None) -> jax.Array:
        key_mask = jnp.arange(ids.shape[1])[None, :] < lengths[:, None]
        x = self.embeddings(ids, jnp.zeros_like(ids) if token_types is None else token_types)
        for layer in self.layers:
            x = layer(x, key_mask)
        return x


class Pooler(nnx.Module):
    """BERT's pooler: the [CLS] position's state through a dense layer and tanh."""

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs):
        self.dense = nnx.Linear(config.hidden_size, config.hidden_size, rngs=rngs)

    def __call__(self, states: jax.Array) -> jax.Array:
        return jnp.tanh(self.dense(states[:, 0]))
