"""Masked pooling over the time axis: padding positions never contribute."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def real_positions(lengths: jax.Array, width: int) -> jax.Array:
    """[B, L, 1] mask: 1 where a position holds a real token."""
    return (jnp.arange(width)[None, :] < lengths[:, None])[..., None]


def masked_mean(states: jax.Array, lengths: jax.Array) -> jax.Array:
    mask = real_positions(lengths, states.shape[1])
    return jnp.sum(states * mask, axis=1) / jnp.maximum(lengths, 1)[:, None].astype(states.dtype)


def masked_max(states: jax.Array, lengths: jax.Array) -> jax.Array:
    mask = real_positions(lengths, states.shape[1])
    pooled = jnp.max(jnp.where(mask, states, -jnp.inf), axis=1)
    return jnp.where(lengths[:, None] > 0, pooled, 0.0)
