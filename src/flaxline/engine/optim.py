"""Optax optimizers built from their settings."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import optax
from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, field_validator

from flaxline.config import Settings
from flaxline.errors import InputError


class OptimizerSpec(Settings):
    """The optimizer, its learning-rate schedule and gradient clipping."""

    name: Literal["sgd", "momentum", "adam", "adamw"] = "adam"
    learning_rate: float = 1e-3
    schedule: Literal["constant", "warmup_cosine", "warmup_linear"] = Field(
        "constant",
        description="warmup_cosine, warmup_linear: linear warm-up over warmup_fraction of the steps, then cosine or "
        "linear decay to 0",
    )
    warmup_fraction: float = Field(0.0, ge=0.0, le=1.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="momentum only")
    weight_decay: float = Field(
        0.0, ge=0.0, description="adamw only; matrices and embeddings are decayed, biases and norms' scales not"
    )
    clip_global_norm: PositiveFloat | None = Field(
        None, description="clip gradients to this global norm; null: no clipping"
    )
    layer_decay: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="layer-wise learning rates: each layer learns at this factor of the rate of the one above it, "
        "the head at the full rate (models with layers: pretrained_encoder); null: one rate",
    )
    freeze_layers: NonNegativeInt = Field(
        0, description="the lowest this many layers stay as they are, the embeddings counting as the first"
    )
    accumulation_steps: PositiveInt = Field(
        1, description="update with the mean gradient of this many batches: an effective batch this many times larger"
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
    if name == "warmup_linear":
        return optax.join_schedules(
            [
                optax.linear_schedule(0.0, learning_rate, warmup),
                optax.linear_schedule(learning_rate, 0.0, max(total_steps - warmup, 1)),
            ],
            [warmup],
        )
    return optax.warmup_cosine_decay_schedule(0.0, learning_rate, warmup, max(total_steps, warmup + 1))


def build_optimizer(spec: OptimizerSpec, *, total_steps: int, depths: Any = None) -> optax.GradientTransformation:
    """The optimizer ``spec`` names, on its schedule over the ``total_steps`` batches, after optional global-norm
    clipping; per layer (``layer_decay``, ``freeze_layers``) by the parameters' ``depths`` (``ZooModel.depths``)."""
    updates = -(-total_steps // spec.accumulation_steps)
    rate = build_schedule(spec.learning_rate, spec.schedule, updates, spec.warmup_fraction)
    optimizer = {
        "sgd": lambda: optax.sgd(rate),
        "momentum": lambda: optax.sgd(rate, momentum=spec.momentum),
        "adam": lambda: optax.adam(rate),
        "adamw": lambda: optax.adamw(rate, weight_decay=spec.weight_decay, mask=_matrices),
    }[spec.name]()
    if (spec.layer_decay is not None or spec.freeze_layers) and depths is None:
        raise InputError("optimizer: layer_decay and freeze_layers need a model with layers (pretrained_encoder)")
    if spec.layer_decay is not None:
        optimizer = optax.chain(optimizer, _scaled_by(layer_factors(depths, spec.layer_decay)))
    if spec.clip_global_norm:
        optimizer = optax.chain(optax.clip_by_global_norm(spec.clip_global_norm), optimizer)
    if spec.accumulation_steps > 1:
        optimizer = optax.MultiSteps(optimizer, every_k_schedule=spec.accumulation_steps)
    if spec.freeze_layers:
        # Outermost, so that no transformation reads the frozen gradients: XLA then drops their computation
        # (unless loop.on_nonfinite: skip checks every gradient).
        optimizer = optax.multi_transform(
            {"trained": optimizer, "frozen": optax.set_to_zero()}, frozen_labels(depths, spec.freeze_layers)
        )
    return optimizer


def _matrices(params: Any) -> Any:
    return jax.tree.map(lambda parameter: parameter.ndim >= 2, params)


def layer_factors(depths: Any, layer_decay: float) -> Any:
    """Each parameter's learning-rate factor: ``layer_decay`` ** (the top depth − its depth)."""
    top = max(jax.tree.leaves(depths))
    return jax.tree.map(lambda depth: layer_decay ** (top - depth), depths)


def frozen_labels(depths: Any, frozen: int) -> Any:
    """``frozen`` for each parameter below depth ``frozen``, ``trained`` for the others."""
    top = max(jax.tree.leaves(depths))
    if frozen > top:
        raise InputError(
            f"optimizer: freeze_layers {frozen} is more than the model's {top} layers: the head would not train"
        )
    return jax.tree.map(lambda depth: "frozen" if depth < frozen else "trained", depths)


def _scaled_by(factors: Any) -> optax.GradientTransformation:
    def update(updates, state, params=None):
        # Under freezing, a frozen parameter's update is a MaskedNode (no array) here: it stays one.
        return jax.tree.map(
            lambda factor, update: update if isinstance(update, optax.MaskedNode) else update * factor, factors, updates
        ), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


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
