"""Rating prediction: biased matrix factorisation and neural collaborative filtering (NCF / NeuMF).

A rating model maps a batch of (``users``, ``items``, ``user_days``) ids to ``{"rating": [B], "penalty":
[B]}``: the predicted rating, and each example's L2 penalty on the biases and factors it used (as the SGD
of the Netflix-prize models regularises each rating's own parameters). Both add their interaction term to
the same baseline: the global mean, a user bias, an item bias and, with ``day_bias``, a bias of the user on
the rating's day (timeSVD++'s b_u,t). Id 0 is a user, item or user-day the training split never saw: it
has no bias and no factors, so its prediction falls back to the global mean plus whatever the other ids
bring (the cold-start rule).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field, NonNegativeFloat, PositiveInt

from flaxline.config import Settings
from flaxline.inputs import RatingInputs
from flaxline.models.base import ZooModel


class IdEmbedding(nnx.Module):
    """A vector per id; id 0 (unseen in training) is the zero vector, and never learns."""

    def __init__(self, count: int, features: int, scale: float, *, rngs: nnx.Rngs):
        self.table = nnx.Embed(count, features, embedding_init=nnx.initializers.normal(scale), rngs=rngs)

    def __call__(self, ids: jax.Array) -> jax.Array:
        return self.table(ids) * (ids > 0)[..., None].astype(self.table.embedding.dtype)


class Biases(nnx.Module):
    """global mean + user bias + item bias (+ user-day bias), with the squared biases a rating used and the
    shrinkage's share of the bias tables' squared norm (``shrinkage`` over the training ratings: summed over an
    epoch's ratings, the tables' norm times ``shrinkage``, as in Koren's baseline estimates)."""

    def __init__(self, inputs: RatingInputs, day_bias: bool, shrinkage: float, *, rngs: nnx.Rngs):
        self.global_mean, self.shrinkage = inputs.global_mean, shrinkage / inputs.ratings
        self.user = IdEmbedding(inputs.users, 1, 0.0, rngs=rngs)
        self.item = IdEmbedding(inputs.items, 1, 0.0, rngs=rngs)
        self.user_day = IdEmbedding(inputs.user_days, 1, 0.0, rngs=rngs) if day_bias else None

    def __call__(self, batch: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
        tables = [(self.user, "users"), (self.item, "items")]
        if self.user_day is not None:
            tables.append((self.user_day, "user_days"))
        biases = jnp.stack([table(batch[ids])[:, 0] for table, ids in tables])
        penalty = jnp.sum(biases**2, axis=0)
        if self.shrinkage:  # the whole tables' norm: dense work in every step, so only when asked for
            penalty += self.shrinkage * sum(jnp.sum(table.table.embedding[...] ** 2) for table, _ in tables)
        return self.global_mean + jnp.sum(biases, axis=0), penalty


DAY_BIAS = Field(True, description="a bias per user and day of rating (0 for a day unseen in training)")
SHRINKAGE = Field(
    0.0,
    ge=0.0,
    description="Koren's shrinkage of the biases: a bias of n training ratings tends to their mean residual times "
    "n / (n + shrinkage) (l2 0), so rare users, items and days stay near 0; l2 alone shrinks each by the same factor",
)


class BiasedMFSpec(Settings):
    """global mean + user bias + item bias + user factors · item factors."""

    name: Literal["biased_mf"] = "biased_mf"
    factors: PositiveInt = 64
    day_bias: bool = DAY_BIAS
    shrinkage: float = SHRINKAGE
    l2: NonNegativeFloat = Field(0.05, description="per rating, on the biases and factors it uses")
    init_scale: float = Field(0.05, gt=0.0, description="standard deviation of the initial factors")


class BiasedMF(ZooModel):
    inputs_type: ClassVar = RatingInputs

    def __init__(self, spec: BiasedMFSpec, inputs: RatingInputs, outputs: int, *, rngs: nnx.Rngs):
        self.l2 = spec.l2
        self.biases = Biases(inputs, spec.day_bias, spec.shrinkage, rngs=rngs)
        self.user_factors = IdEmbedding(inputs.users, spec.factors, spec.init_scale, rngs=rngs)
        self.item_factors = IdEmbedding(inputs.items, spec.factors, spec.init_scale, rngs=rngs)

    def __call__(self, batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
        baseline, squared_biases = self.biases(batch)
        user, item = self.user_factors(batch["users"]), self.item_factors(batch["items"])
        rating = baseline + jnp.sum(user * item, axis=-1)
        penalty = self.l2 * (squared_biases + jnp.sum(user**2, axis=-1) + jnp.sum(item**2, axis=-1))
        return {"rating": rating, "penalty": penalty}


class NeuralCFSpec(Settings):
    """NCF (He et al., 2017): user and item embeddings through an MLP; with ``fuse_mf``, NeuMF, whose output
    layer also reads the element-wise product of a second pair of (MF) embeddings. Biases and the global mean
    are added, so the network learns what they leave unexplained."""

    name: Literal["neural_cf"] = "neural_cf"
    embed_dim: PositiveInt = Field(32, description="each side's embedding in the MLP path")
    mlp: tuple[PositiveInt, ...] = Field((64, 32), min_length=1, description="widths of the MLP's hidden layers")
    fuse_mf: bool = Field(True, description="NeuMF: also an MF path of `factors` factors")
    factors: PositiveInt = 32
    day_bias: bool = DAY_BIAS
    shrinkage: float = SHRINKAGE
    dropout: float = Field(0.1, ge=0.0, lt=1.0, description="on the MLP's hidden layers")
    l2: NonNegativeFloat = Field(0.01, description="per rating, on the biases and embeddings it uses")
    init_scale: float = Field(0.05, gt=0.0)


class NeuralCF(ZooModel):
    inputs_type: ClassVar = RatingInputs

    def __init__(self, spec: NeuralCFSpec, inputs: RatingInputs, outputs: int, *, rngs: nnx.Rngs):
        self.l2, self.fuse_mf = spec.l2, spec.fuse_mf
        self.biases = Biases(inputs, spec.day_bias, spec.shrinkage, rngs=rngs)
        self.user_mlp = IdEmbedding(inputs.users, spec.embed_dim, spec.init_scale, rngs=rngs)
        self.item_mlp = IdEmbedding(inputs.items, spec.embed_dim, spec.init_scale, rngs=rngs)
        widths = (2 * spec.embed_dim, *spec.mlp)
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(widths[:-1], widths[1:], strict=True)])
        self.dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        self.user_mf = IdEmbedding(inputs.users, spec.factors, spec.init_scale, rngs=rngs)
        self.item_mf = IdEmbedding(inputs.items, spec.factors, spec.init_scale, rngs=rngs)
        self.head = nnx.Linear(spec.mlp[-1] + (spec.factors if spec.fuse_mf else 0), 1, rngs=rngs)

    def __call__(self, batch: dict[str, jax.Array]) -> dict[str, jax.Array]:
        users, items = batch["users"], batch["items"]
        baseline, squared_biases = self.biases(batch)
        user, item = self.user_mlp(users), self.item_mlp(items)
        hidden = jnp.concatenate([user, item], axis=-1)
        for layer in self.layers:
            hidden = self.dropout(nnx.relu(layer(hidden)))
        used = [squared_biases, jnp.sum(user**2, axis=-1), jnp.sum(item**2, axis=-1)]
        if self.fuse_mf:
            user_mf, item_mf = self.user_mf(users), self.item_mf(items)
            hidden = jnp.concatenate([hidden, user_mf * item_mf], axis=-1)
            used += [jnp.sum(user_mf**2, axis=-1), jnp.sum(item_mf**2, axis=-1)]
        rating = baseline + self.head(hidden)[:, 0]
        return {"rating": rating, "penalty": self.l2 * jnp.sum(jnp.stack(used), axis=0)}
