"""Integrated gradients (Sundararajan et al., 2017) of a class logit, for every model of the zoo.

The attribution of an input unit i (a token's embedding, or a pixel) to a row's logit F is
(x_i − x'_i) · ∫₀¹ ∂F/∂x_i (x' + α (x − x')) dα for a baseline x': ``zeros`` (embeddings of zeros,
a black image) or ``mean`` (each embedding table's mean vector, the training split's mean colour,
which the model normalises to zero). Written as the derivative of F with respect to a per-unit scale
s_i of the input (x_i(s) = x'_i + s_i · (x_i − x'_i)), it is ∫₀¹ ∂F/∂s_i at s = α, computed with
``steps`` midpoints, 16 at a time under ``jax.vmap`` (``jax.lax.map``) in one compiled function. A text model is
scaled at the output of each of its token embeddings (every member's, for an ensemble), so the
attribution is per token and covers subword vectors too. The attributions of a row sum to
F(x) − F(x') up to the integral's discretisation: the completeness gap ``integrated_gradients``
returns is that difference, which a finer ``steps`` shrinks; it returns F(x) − F(x') too.
"""

from __future__ import annotations

import functools
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from flaxline.models.base import ZooModel
from flaxline.models.embedding import token_vectors
from flaxline.models.images import ImageInput

Baseline = Literal["zeros", "mean"]
STEPS_AT_ONCE = 16


class _ScaledEmbedding(nnx.Module):
    """A token embedding whose output moves from the baseline vector to the token's by one scale per token."""

    def __init__(self, embed: nnx.Embed, scale: jax.Array, baseline: Baseline):
        self.embed, self.scale, self.baseline = embed, nnx.Variable(scale), baseline

    def __call__(self, ids: jax.Array) -> jax.Array:
        vectors = self.embed(ids)
        start = jnp.mean(token_vectors(self.embed), axis=0) if self.baseline == "mean" else jnp.zeros_like(vectors)
        return start + self.scale[...][..., None].astype(jnp.float32) * (vectors - start)


def _target_logits(graphdef, state: tuple, scale: jax.Array, batch: dict, targets: jax.Array, baseline: Baseline):
    """Each row's target logit with its inputs scaled unit by unit. The model is rebuilt from ``state`` here, at
    the caller's trace level."""
    scaled = nnx.merge(graphdef, *state)
    scaled.eval()
    inputs = dict(batch)
    if "ids" in batch:
        for _, module in list(nnx.iter_graph(scaled)):
            embed = getattr(module, "embed", None)
            if isinstance(module, nnx.Module) and isinstance(embed, nnx.Embed):
                module.embed = _ScaledEmbedding(embed, scale, baseline)  # type: ignore[attr-defined]
    else:
        images = batch["images"].astype(jnp.float32)
        start = jnp.asarray(_image_mean(scaled)) if baseline == "mean" else jnp.zeros(images.shape[-1])
        inputs["images"] = start + scale * (images - start)
    logits = scaled(inputs)
    return jnp.take_along_axis(logits, targets[:, None], axis=1)[:, 0]


def _image_mean(model: nnx.Module) -> tuple[float, ...]:
    return next(module.mean for _, module in nnx.iter_graph(model) if isinstance(module, ImageInput))


def integrated_gradients(
    model: ZooModel, batch: dict[str, np.ndarray], targets: np.ndarray, steps: int, baseline: Baseline = "zeros"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's attributions to its ``targets`` class logit, [B, L] per token or [B, H, W, C] per pixel value;
    its completeness gap, the attributions' sum minus (F(x) − F(baseline)); and that logit change."""
    graphdef, *states = nnx.split(model, nnx.Param, ...)
    params, rest = states
    outputs = _attribute(graphdef, params, rest, jax.device_put(batch), jnp.asarray(targets), steps, baseline)
    attributions, change = (np.asarray(output) for output in outputs)
    return attributions, attributions.reshape(len(change), -1).sum(axis=1) - change, change


@functools.partial(jax.jit, static_argnames=("graphdef", "steps", "baseline"))
def _attribute(graphdef, params, rest, batch, targets, steps: int, baseline: Baseline):
    shape = batch["ids"].shape if "ids" in batch else batch["images"].shape

    def logits_at(scale, params):
        return _target_logits(graphdef, (params, rest), scale, batch, targets, baseline)

    alphas = (jnp.arange(steps, dtype=jnp.float32) + 0.5) / steps
    gradient = jax.grad(lambda scale: jnp.sum(logits_at(scale, params)))
    # STEPS_AT_ONCE path points at a time: all of them at once would hold every point's activations together
    # (gigabytes for a pretrained encoder).
    scaled = jax.lax.map(lambda alpha: gradient(jnp.full(shape, alpha)), alphas, batch_size=STEPS_AT_ONCE)
    attributions = jnp.mean(scaled, axis=0)
    return attributions, logits_at(jnp.ones(shape), params) - logits_at(jnp.zeros(shape), params)


def explain_rows(
    model: ZooModel,
    features: dict[str, np.ndarray],
    rows: np.ndarray,
    targets: np.ndarray,
    steps: int,
    baseline: Baseline,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``integrated_gradients`` of the ``rows`` of ``features`` (one array per input, as a split's features), each
    to its class in ``targets`` (one per row of ``rows``), in batches of ``batch_size``, the last padded so that one
    compiled shape serves every batch: the attributions, completeness gaps and logit changes of those rows."""
    inputs: list[str] = [name for name in ("ids", "lengths", "images") if name in features]
    shape = features[inputs[0]].shape[1:]
    parts: list[tuple[np.ndarray, ...]] = [(np.zeros((0, *shape)), np.zeros(0), np.zeros(0))]
    for start in range(0, len(rows), batch_size):
        batch_rows = np.minimum(np.arange(start, start + batch_size), len(rows) - 1)
        batch = {name: features[name][rows[batch_rows]] for name in inputs}
        kept = min(batch_size, len(rows) - start)
        explained = integrated_gradients(model, batch, targets[batch_rows], steps, baseline)
        parts.append(tuple(part[:kept] for part in explained))
    attributions, gaps, changes = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return attributions, gaps, changes
