"""Optax optimizers built from configuration data."""

from __future__ import annotations

from typing import NamedTuple

import jax
import optax

from flaxline.errors import InputError


def build_schedule(learning_rate: float, name: str = "constant", total_steps: int = 1, warmup_fraction: float = 0.0):
    """``constant`` or ``warmup_cosine`` (linear warm-up over ``warmup_fraction`` of the steps, then cosine to 0)."""
    if name == "constant":
        return optax.constant_schedule(learning_rate)
    if name == "warmup_cosine":
        warmup = int(round(warmup_fraction * total_steps))
        return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup, max(total_steps, warmup + 1))
    raise InputError(f"unknown schedule '{name}'; known schedules: constant, warmup_cosine")


def build_optimizer(
    name: str,
    learning_rate: float,
    *,
    total_steps: int,
    schedule: str = "constant",
    warmup_fraction: float = 0.0,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    clip_global_norm: float | None = None,
) -> optax.GradientTransformation:
    """``sgd``, ``momentum``, ``adam`` or ``adamw``, on a schedule, after optional global-norm clipping."""
    rate = build_schedule(learning_rate, schedule, total_steps, warmup_fraction)
    if name == "sgd":
        optimizer = optax.sgd(rate)
    elif name == "momentum":
        optimizer = optax.sgd(rate, momentum=momentum)
    elif name == "adam":
        optimizer = optax.adam(rate)
    elif name == "adamw":
        optimizer = optax.adamw(rate, weight_decay=weight_decay)
    else:
        raise InputError(f"unknown optimizer '{name}'; known optimizers: sgd, momentum, adam, adamw")
    if clip_global_norm:
        return optax.chain(optax.clip_by_global_norm(clip_global_norm), optimizer)
    return optimizer


class AveragedState(NamedTuple):
    inner: optax.OptState
    average: optax.EmaState


def with_parameter_average(tx: optax.GradientTransformation, decay: float) -> optax.GradientTransformation:
    """``tx``, also keeping an exponential moving average of the parameters it produces (Polyak averaging).

    The average lives in the optimizer state, so it is checkpointed and restored with it.
    """
    average = optax.ema(decay, debias=True)

    def init(params):
        return AveragedState(tx.init(params), average.init(params))

    def update(updates, state, params=None):
        updates, inner = tx.update(updates, state.inner, params)
        _, averaged = average.update(optax.apply_updates(params, updates), state.average)
        return updates, AveragedState(inner, averaged)

    return optax.GradientTransformation(init, update)


def averaged_parameters(state: AveragedState, decay: float):
    """The average of ``with_parameter_average``'s state, debiased as ``optax.ema`` does (no pull towards zero)."""
    correction = 1.0 - decay ** state.average.count
    return jax.tree.map(lambda moment: moment / correction.astype(moment.dtype), state.average.ema)
