"""Forward passes in batches, and the compute dtype they run in.

``compute_dtype`` bfloat16 rounds the floating-point parameters to bf16 for the forward pass
(gradients flow back through the cast to the fp32 parameters); the ``lstm`` model then
multiplies in bf16 but keeps its gates and cell state in fp32.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from flaxline.engine.batching import Arrays, Batching, example_count

if TYPE_CHECKING:
    from flaxline.models.base import ZooModel

ComputeDtype = Literal["float32", "bfloat16", "float16"]
# What settings may ask for: a dtype, or ``auto`` (bfloat16 on accelerators, float32 on CPUs; engine.devices).
ComputeChoice = Literal["auto", "float32", "bfloat16", "float16"]


def in_dtype(model: nnx.Module, graphdef: nnx.GraphDef, dtype) -> nnx.Module:
    """``model`` with its floating-point parameters cast to ``dtype`` (gradients flow back through the cast)."""
    if dtype == jnp.float32:
        return model
    # nnx.split is typed as returning tuple[GraphDef, State, *tuple[State, ...]]: mypy will not unpack it
    _, params, rest = nnx.split(model, nnx.Param, ...)  # type: ignore[misc]
    cast = jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)
    return nnx.merge(graphdef, cast, rest)


def as_float32(outputs):
    """A model's outputs (logits, or a dict of arrays) in float32, whatever dtype they were computed in."""
    return jax.tree.map(lambda array: array.astype(jnp.float32), outputs)


def make_forward(graphdef: nnx.GraphDef, compute_dtype: str = "float32"):
    """A compiled forward pass: (params, rest, batch) → the model's outputs in float32."""
    dtype = jnp.dtype(compute_dtype)

    def forward(params, rest, batch):
        return as_float32(in_dtype(nnx.merge(graphdef, params, rest), graphdef, dtype)(batch))

    return jax.jit(forward)


def batched_outputs(forward, params, rest, arrays: Arrays, batching: Batching, place=None) -> Any:
    """``forward``'s outputs for every row (an array, or a dict of them), computed in batches of similar length and
    returned in input order. ``place`` puts each batch where the parameters are (``Placement.put_batch``)."""
    place = place or (lambda batch: batch)
    indices = batching.in_length_order(arrays)
    outputs = jax.device_get([forward(params, rest, place(batch)) for batch in batching.batches(arrays, indices)])
    order = np.concatenate(indices)

    def in_input_order(*parts: np.ndarray) -> np.ndarray:
        computed = np.concatenate([part[: len(index)] for part, index in zip(parts, indices, strict=True)])
        result = np.empty_like(computed)
        result[order] = computed
        return result

    return jax.tree.map(in_input_order, *outputs)


def predict(model: ZooModel, arrays: Arrays, batching: Batching, compute_dtype: str = "float32") -> Any:
    """The outputs (logits, ...) of ``model``'s inference copy (evaluation mode) for every row of ``arrays``."""
    model = model.for_inference()
    # Arrays loaded from files are numpy: put them on the device once, not at every call.
    graphdef, params, rest = jax.device_put(nnx.split(model, nnx.Param, ...))
    return batched_outputs(make_forward(graphdef, compute_dtype), params, rest, arrays, batching)


def examples_per_second(model: ZooModel, arrays: Arrays, batching: Batching, seconds: float) -> float:
    """Inference throughput of ``model``'s inference copy on ``arrays``: compiled once (the first pass, every batch
    shape), then timed over later passes, for ``seconds`` and two passes at least."""
    graphdef, params, rest = jax.device_put(nnx.split(model.for_inference(), nnx.Param, ...))
    forward = make_forward(graphdef)
    batched_outputs(forward, params, rest, arrays, batching)
    passes, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or passes < 2:
        batched_outputs(forward, params, rest, arrays, batching)
        passes += 1
    return passes * example_count(arrays) / (time.perf_counter() - started)
