"""The compiled steps: a pure function of arrays (parameters, other model state, optimizer state, batch).

The model is split once into a static graph and array state; the train step merges them, takes
the loss's gradient, applies the optimizer and returns the new state with the step's metric
sums. It is compiled with ``jax.jit`` and donates its state buffers, so no Python object
crosses the compiled boundary per step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from flaxline.engine.inference import as_float32, in_dtype
from flaxline.losses import Batch, LossFn


def metric_sums(metrics: dict[str, jax.Array], weights: jax.Array) -> dict[str, jax.Array]:
    """Each per-example metric summed over the batch's real rows, and their ``count``."""
    return {name: jnp.sum(values * weights) for name, values in metrics.items()} | {"count": jnp.sum(weights)}


def step_sums(metrics: dict[str, jax.Array], weights: jax.Array) -> dict[str, jax.Array]:
    """``metric_sums`` and ``nonfinite``: a train step whose loss is not finite adds only that flag (its update is
    skipped or stops the run), so the epoch's means are those of the steps that counted."""
    sums = metric_sums(metrics, weights)
    finite = jnp.isfinite(sums["loss"])
    return {name: jnp.where(finite, value, 0.0) for name, value in sums.items()} | {"nonfinite": 1.0 - finite}


def make_train_step(
    graphdef: nnx.GraphDef, tx: optax.GradientTransformation, loss: LossFn, compute_dtype: str = "float32"
):
    """A compiled step: (params, rest, opt_state, batch) → updated state and the batch's ``metric_sums``."""
    dtype = jnp.dtype(compute_dtype)

    def step(params, rest, opt_state, batch: Batch):
        model = nnx.merge(graphdef, params, rest)

        def objective(model):
            computing = in_dtype(model, graphdef, dtype)
            outputs = as_float32(computing(batch))
            if computing is not model:  # carry RNG counters (dropout) back to the fp32 model
                nnx.update(model, nnx.state(computing, nnx.Not(nnx.Param)))
            return loss(outputs, batch)

        (_, metrics), grads = nnx.value_and_grad(objective, has_aux=True)(model)
        # nnx.split is typed as returning tuple[GraphDef, State, *tuple[State, ...]]: mypy will not unpack it
        _, params, rest = nnx.split(model, nnx.Param, ...)  # type: ignore[misc]
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, rest, opt_state, step_sums(metrics, batch["weights"])

    return jax.jit(step, donate_argnums=(0, 1, 2))


def make_eval_step(graphdef: nnx.GraphDef, loss: LossFn, compute_dtype: str = "float32"):
    """A compiled evaluation: (params, rest, batch) → the batch's ``metric_sums`` under ``loss``; a non-finite
    example makes the sums non-finite, so a validation with one is never the best."""
    dtype = jnp.dtype(compute_dtype)

    def step(params, rest, batch: Batch):
        outputs = as_float32(in_dtype(nnx.merge(graphdef, params, rest), graphdef, dtype)(batch))
        return metric_sums(loss(outputs, batch)[1], batch["weights"])

    return jax.jit(step)
