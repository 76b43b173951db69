"""The reference model: Embedding → LSTM → Dense (logits; softmax is applied by the loss)."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.models.base import TokenInputs, ZooModel
from flaxline.models.embedding import SubwordBuckets, WordVectors, token_embedding, token_vectors
from flaxline.models.pooling import masked_max, masked_mean


def _matmul(inputs: jax.Array, kernel: jax.Array) -> jax.Array:
    """``inputs @ kernel`` in the kernel's dtype, accumulated and returned in float32.

    With bfloat16 compute (``loop.compute_dtype``) the products use the CPU's or accelerator's
    bfloat16 units while the gates and the cell state stay in float32, so rounding does not
    build up along the sequence.
    """
    return jnp.dot(inputs.astype(kernel.dtype), kernel, preferred_element_type=jnp.float32)


class LSTMLayer(nnx.Module):
    """An LSTM with one packed kernel: gates = [x_t, h] @ kernel + bias, packed [input, forget, cell, output].

    One matrix product per step (the input and recurrent parts concatenated) measured faster
    on XLA:CPU than two products or than projecting all inputs before the recurrence. Time
    steps at or past a sequence's length leave its state unchanged.
    """

    def __init__(self, in_features: int, hidden_dim: int, *, unroll: int = 1, reverse: bool = False, rngs: nnx.Rngs):
        self.in_features, self.hidden_dim, self.unroll, self.reverse = in_features, hidden_dim, unroll, reverse
        input_part = nnx.initializers.lecun_normal()(rngs.params(), (in_features, 4 * hidden_dim))
        recurrent_part = [nnx.initializers.orthogonal()(rngs.params(), (hidden_dim, hidden_dim)) for _ in range(4)]
        self.kernel = nnx.Param(jnp.concatenate([input_part, jnp.concatenate(recurrent_part, axis=1)], axis=0))
        self.bias = nnx.Param(jnp.zeros((4 * hidden_dim,)))

    def project(self, inputs: jax.Array) -> jax.Array:
        """The input part of the gates, ``inputs @ kernel[:E] + bias`` ([..., E] → [..., 4H])."""
        return inputs @ self.kernel[: self.in_features] + self.bias[...]

    def __call__(
        self, inputs: jax.Array | None, lengths: jax.Array, projected: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array]:
        """Run over ``inputs`` [B, L, E], or over their ``projected`` input parts [B, L, 4H].

        Returns the state at each sequence's end (its start with ``reverse``) [B, H] and the states [B, L, H].
        """
        kernel, bias = self.kernel[...], self.bias[...]
        if projected is None:
            assert inputs is not None, "inputs or projected"
            sequence = inputs

            def gates_of(step_input, hidden):
                return _matmul(jnp.concatenate([step_input, hidden.astype(step_input.dtype)], axis=-1), kernel) + bias
        else:
            sequence, recurrent_kernel = projected, kernel[self.in_features :]

            def gates_of(step_input, hidden):
                return step_input + _matmul(hidden, recurrent_kernel)

        def step(carry, step_inputs):
            cell, hidden = carry
            step_input, position = step_inputs
            input_gate, forget_gate, candidate, output_gate = jnp.split(gates_of(step_input, hidden), 4, axis=-1)
            new_cell = jax.nn.sigmoid(forget_gate) * cell + jax.nn.sigmoid(input_gate) * jnp.tanh(candidate)
            new_hidden = jax.nn.sigmoid(output_gate) * jnp.tanh(new_cell)
            real = (position < lengths)[:, None]
            cell, hidden = jnp.where(real, new_cell, cell), jnp.where(real, new_hidden, hidden)
            return (cell, hidden), hidden

        batch, width = sequence.shape[:2]
        zeros = jnp.zeros((batch, self.hidden_dim), jnp.float32)
        steps = (sequence.swapaxes(0, 1), jnp.arange(width))
        # Flipped rather than a reverse scan, which jax2onnx does not convert.
        order = (lambda steps: jax.tree.map(lambda x: x[::-1], steps)) if self.reverse else (lambda steps: steps)
        (_, last_hidden), states = jax.lax.scan(step, (zeros, zeros), order(steps), unroll=self.unroll)
        return last_hidden, order(states).swapaxes(0, 1)


def projection_table(embed: nnx.Embed, *layers: LSTMLayer) -> nnx.Variable | None:
    """Each token's input projections for ``layers`` [vocab, 4H × layers], or None for quantized layers, which keep
    their int8 products."""
    if not all(isinstance(layer.kernel, nnx.Param) for layer in layers):
        return None
    vectors = token_vectors(embed)
    return nnx.data(nnx.Variable(jnp.concatenate([layer.project(vectors) for layer in layers], axis=-1)))


class LSTMSpec(Settings):
    """Embedding → LSTM → Dense: the reference model."""

    name: Literal["lstm"] = "lstm"
    embed_dim: PositiveInt = 128
    hidden_dim: PositiveInt = 256
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="on the pooled state, before the classifier")
    token_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="share of whole token vectors zeroed while training")
    pooling: Literal["last", "mean", "max"] = Field(
        "last",
        description="what the classifier sees: the state at the last real token, or the mean or max of the states",
    )
    unroll: PositiveInt = Field(1, description="time steps per compiled loop iteration")
    subword_buckets: SubwordBuckets = 0
    word_vectors: WordVectors = None


class LSTMClassifier(ZooModel):
    """Classifies a padded sequence from its LSTM states.

    ``lengths`` stops the recurrence at each sequence's end and masks the pooling, so padding
    never changes the logits.
    """

    def __init__(self, spec: LSTMSpec, inputs: TokenInputs, outputs: int, *, rngs: nnx.Rngs):
        self.pooling = spec.pooling
        self.embed = token_embedding(inputs, spec.embed_dim, spec.subword_buckets, rngs, spec.word_vectors)
        # Zeroes whole token vectors while training: a word-dropout regulariser for small corpora.
        self.token_dropout = nnx.Dropout(spec.token_dropout, broadcast_dims=(-1,), rngs=rngs)
        self.lstm = LSTMLayer(spec.embed_dim, spec.hidden_dim, unroll=spec.unroll, rngs=rngs)
        self.dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        self.head = nnx.Linear(spec.hidden_dim, outputs, rngs=rngs)
        self.projection_table: nnx.Variable | None = nnx.data(None)

    def for_inference(self) -> LSTMClassifier:
        """A copy in evaluation mode whose input projections are looked up, not computed.

        Without token dropout, token t's projection is ``embedding[t] @ W + b`` whatever its
        context, so one [vocab, 4H] table replaces a third of the forward pass's arithmetic. A quantized
        model (``flaxline.compression``) keeps its int8 products instead.
        """
        model = nnx.clone(self)
        model.eval()
        model.projection_table = projection_table(model.embed, model.lstm)
        return model

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        ids, lengths = batch["ids"], batch["lengths"]
        if self.projection_table is not None:
            last_hidden, states = self.lstm(None, lengths, projected=self.projection_table[...][ids])
        else:
            last_hidden, states = self.lstm(self.token_dropout(self.embed(ids)), lengths)
        if self.pooling == "last":
            pooled = last_hidden
        elif self.pooling == "mean":
            pooled = masked_mean(states, lengths)
        else:
            pooled = masked_max(states, lengths)
        return self.head(self.dropout(pooled))
