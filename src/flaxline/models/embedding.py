"""Token embeddings: a vector per token id, optionally plus the mean of its character n-grams' vectors, and
optionally started from a pretrained encoder's word-piece embeddings."""

from __future__ import annotations

import functools
from typing import Annotated

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from pydantic import AfterValidator, Field
from tokenizers import Tokenizer

from flaxline.errors import InputError
from flaxline.models.base import TokenInputs
from flaxline.models.bert.params import read_tensor
from flaxline.models.bert.weights import checkpoint_file, tokenizer_file, weights_folder
from flaxline.text.subwords import subword_table

SUBWORD_WIDTH = 24  # n-grams kept per token: every 3- to 5-gram of a word of up to 9 characters


class Constant(nnx.Variable):
    """An array a model is built with and never learns; saved with its parameters."""


class SubwordEmbed(nnx.Embed):
    """``nnx.Embed`` plus, for each token, the mean of its hashed character n-grams' vectors (fastText).

    The token → n-gram buckets table comes from the vocabulary's spelling (``token_embedding``)
    and is saved with the model, so a loaded model needs no tokenizer to embed.
    """

    def __init__(self, num_embeddings: int, features: int, *, buckets: int, rngs: nnx.Rngs):
        super().__init__(num_embeddings, features, rngs=rngs)
        self.buckets = buckets
        self.subwords = nnx.Embed(buckets, features, embedding_init=nnx.initializers.normal(0.02), rngs=rngs)
        self.subword_table = Constant(jnp.zeros((num_embeddings, SUBWORD_WIDTH), jnp.int32))

    # Narrower than nnx.Embed.__call__ (no out_sharding): the models call it with ids only.
    def __call__(self, ids: jax.Array) -> jax.Array:  # type: ignore[override]
        return super().__call__(ids) + self._subword_mean(self.subword_table[...][ids])

    def vectors(self) -> jax.Array:
        """Every token's vector [vocab, features]."""
        return self.embedding[...] + self._subword_mean(self.subword_table[...])

    def _subword_mean(self, buckets: jax.Array) -> jax.Array:
        present = (buckets > 0)[..., None]
        total = jnp.sum(self.subwords(buckets) * present, axis=-2)
        return total / jnp.maximum(jnp.sum(present, axis=-2), 1).astype(total.dtype)


def _off_or_at_least_two(buckets: int) -> int:
    if buckets < 0 or buckets == 1:
        raise ValueError("must be 0 (off) or at least 2")
    return buckets


SubwordBuckets = Annotated[
    int,
    AfterValidator(_off_or_at_least_two),
    Field(
        description="> 0: each token's vector also averages its character 3- to 5-grams' (fastText), "
        "hashed into this many buckets"
    ),
]


WordVectors = Annotated[
    str | None,
    Field(
        description="start each token's vector from a pretrained encoder's word-piece embeddings (weights as "
        "pretrained_encoder's: minilm, a folder or a Hugging Face id): the mean of its pieces' vectors, reduced to "
        "embed_dim by PCA; null: a random start"
    ),
]


def token_embedding(
    inputs: TokenInputs, features: int, subword_buckets: int, rngs: nnx.Rngs, word_vectors: str | None = None
) -> nnx.Embed:
    """A plain ``nnx.Embed``, or with ``subword_buckets`` > 0 a ``SubwordEmbed`` spelled from ``inputs.vocabulary``;
    its token vectors started from the encoder ``word_vectors`` names, if any.

    Without a vocabulary (a model about to be loaded from a file) the subword table and the vectors stay as built.
    """
    if not subword_buckets:
        embed = nnx.Embed(inputs.vocab_size, features, rngs=rngs)
    else:
        embed = SubwordEmbed(inputs.vocab_size, features, buckets=subword_buckets, rngs=rngs)
        if inputs.vocabulary is not None:
            embed.subword_table[...] = jnp.asarray(_cached_table(inputs.vocabulary, subword_buckets))
    if word_vectors is not None and inputs.vocabulary is not None:
        vectors = encoder_word_vectors(inputs.vocabulary, word_vectors, features)
        # At the random start's scale, so that the rest of the model's initialisation still fits it.
        scale = float(jnp.sqrt(jnp.mean(embed.embedding[...] ** 2)) / np.sqrt(np.mean(vectors**2)))
        embed.embedding[...] = jnp.asarray(vectors * scale, embed.embedding[...].dtype)
    return embed


@functools.lru_cache(maxsize=2)
def encoder_word_vectors(vocabulary: tuple[str, ...], weights: str, features: int) -> np.ndarray:
    """A vector [features] for each token of ``vocabulary`` from the word-piece embeddings of the encoder ``weights``
    names: the mean of the token's pieces' vectors (by the encoder's own tokenizer), centred and projected onto the
    ``features`` directions of most variance over the vocabulary."""
    folder = weights_folder(weights)
    table = read_tensor(checkpoint_file(folder), "embeddings.word_embeddings.weight")
    if features > table.shape[1]:
        raise InputError(
            f"weights {weights!r}: word vectors of {table.shape[1]} dimensions, fewer than embed_dim {features}"
        )
    pieces = Tokenizer.from_file(str(tokenizer_file(folder))).encode_batch(list(vocabulary), add_special_tokens=False)
    vectors = np.stack([table[piece.ids].mean(axis=0) if piece.ids else np.zeros(table.shape[1]) for piece in pieces])
    centred = vectors - vectors.mean(axis=0)
    directions = np.linalg.svd(centred, full_matrices=False)[2][:features]
    return (centred @ directions.T).astype(np.float32)


def token_vectors(embed: nnx.Embed) -> jax.Array:
    """Every token's vector [vocab, features], subwords included."""
    return embed.vectors() if isinstance(embed, SubwordEmbed) else embed.embedding[...]


@functools.lru_cache(maxsize=4)
def _cached_table(vocabulary: tuple[str, ...], buckets: int):
    # The members of an ensemble share one computation; each still gets its own device buffer.
    return subword_table(vocabulary, buckets, SUBWORD_WIDTH)
