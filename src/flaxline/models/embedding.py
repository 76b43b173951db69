"""Token embeddings: a vector per token id, optionally plus the mean of its character n-grams' vectors."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from flaxline.text.subwords import subword_table

SUBWORD_WIDTH = 24  # n-grams kept per token: every 3- to 5-gram of a word of up to 9 characters


class Constant(nnx.Variable):
    """An array a model is built with and never learns; saved with its parameters."""


class SubwordEmbed(nnx.Embed):
    """``nnx.Embed`` plus, for each token, the mean of its hashed character n-grams' vectors (fastText).

    The token → n-gram buckets table comes from the vocabulary's spelling (``attach_subwords``)
    and is saved with the model, so a loaded model needs no tokenizer to embed.
    """

    def __init__(self, num_embeddings: int, features: int, *, buckets: int, rngs: nnx.Rngs):
        super().__init__(num_embeddings, features, rngs=rngs)
        self.buckets = buckets
        self.subwords = nnx.Embed(buckets, features, embedding_init=nnx.initializers.normal(0.02), rngs=rngs)
        self.subword_table = Constant(jnp.zeros((num_embeddings, SUBWORD_WIDTH), jnp.int32))

    def __call__(self, ids: jax.Array) -> jax.Array:
        return super().__call__(ids) + self._subword_mean(self.subword_table[...][ids])

    def vectors(self) -> jax.Array:
        """Every token's vector [vocab, features]."""
        return self.embedding[...] + self._subword_mean(self.subword_table[...])

    def _subword_mean(self, buckets: jax.Array) -> jax.Array:
        present = (buckets > 0)[..., None]
        total = jnp.sum(self.subwords(buckets) * present, axis=-2)
        return total / jnp.maximum(jnp.sum(present, axis=-2), 1).astype(total.dtype)


def token_embedding(vocab_size: int, features: int, subword_buckets: int, rngs: nnx.Rngs) -> nnx.Embed:
    """A plain ``nnx.Embed``, or with ``subword_buckets`` > 0 a ``SubwordEmbed`` with that many n-gram buckets."""
    if not isinstance(subword_buckets, int) or subword_buckets < 0 or subword_buckets == 1:
        raise ValueError(f"subword_buckets must be 0 (off) or an integer of at least 2, not {subword_buckets!r}")
    if subword_buckets:
        return SubwordEmbed(vocab_size, features, buckets=subword_buckets, rngs=rngs)
    return nnx.Embed(vocab_size, features, rngs=rngs)


def token_vectors(embed: nnx.Embed) -> jax.Array:
    """Every token's vector [vocab, features], subwords included."""
    return embed.vectors() if isinstance(embed, SubwordEmbed) else embed.embedding[...]


def attach_subwords(model: nnx.Module, vocabulary: Sequence[str]) -> None:
    """Fill every ``SubwordEmbed`` of ``model`` (ensemble members too) from the spelling of ``vocabulary`` (token per id)."""
    tables: dict[int, np.ndarray] = {}  # members of an ensemble share one computation per bucket count
    for _, module in nnx.iter_modules(model):
        if isinstance(module, SubwordEmbed):
            if len(vocabulary) != module.num_embeddings:
                raise ValueError(f"vocabulary of {len(vocabulary)} tokens for an embedding of {module.num_embeddings}")
            if module.buckets not in tables:
                tables[module.buckets] = subword_table(vocabulary, module.buckets, SUBWORD_WIDTH)
            # A device array of its own per member: the train step donates each buffer once.
            module.subword_table[...] = jnp.asarray(tables[module.buckets])
