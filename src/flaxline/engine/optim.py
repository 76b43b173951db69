"""Optax optimizers built from their settings."""

from __future__ import annotations

from typing import Literal, NamedTuple

import jax
import optax
from pydantic import Field, PositiveFloat, field_validator

from flaxline.config import Settings


class OptimizerSpec(Settings):
    """The optimizer, its learning-rate schedule and gradient clipping."""

    name: Literal["sgd", "momentum", "adam", "adamw"] = "adam"
    learning_rate: float = 1e-3
    schedule: Literal["constant", "warmup_cosine"] = Field(
        "constant", description="warmup_cosine: linear warm-up over warmup_fraction of the steps, then cosine to 0"
    )
    warmup_fraction: float = Field(0.0, ge=0.0, le=1.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="momentum only")
    weight_decay: float = Field(0.0, ge=0.0, description="adamw only")
    clip_global_norm: PositiveFloat | None = Field(
        None, description="clip gradients to this global norm; null: no clipping"
    )

    @field_validator("learning_rate")
    @classmethod
    def _not_negative(cls, rate: float) -> float:
        if rate <= 0:  # NaN passes: it is how a diverging run is rehearsed
            raise ValueError("must be positive")
        return rate


def build_schedule(learning_rate: float, name: str = "constant", total_steps: int = 1, warmup_fraction: float = 0.0):
    """``constant``, or ``warmup_cosine`` (linear warm-up over ``warmup_fraction`` of the steps, then cosine to 0)."""
    if name == "constant":
        return optax.constant_schedule(learning_rate)
    warmup = int(round(warmup_fraction * total_steps))
    return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup, max(total_steps, warmup + 1))


def build_optimizer(spec: OptimizerSpec, *, total_steps: int) -> optax.GradientTransformation:
    """The optimizer ``spec`` names, on its schedule over ``total_steps``, after optional global-norm clipping."""
    rate = build_schedule(spec.learning_rate, spec.schedule, total_steps, spec.warmup_fraction)
    optimizer = {
        "sgd": lambda: optax.sgd(rate),
        "momentum": lambda: optax.sgd(rate, momentum=spec.momentum),
        "adam": lambda: optax.adam(rate),
        "adamw": lambda: optax.adamw(rate, weight_decay=spec.weight_decay),
    }[spec.name]()
    if spec.clip_global_norm:
        return optax.chain(optax.clip_by_global_norm(spec.clip_global_norm), optimizer)
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
    correction = 1.0 - decay**state.average.count
    return jax.tree.map(lambda moment: moment / correction.astype(moment.dtype), state.average.ema)
