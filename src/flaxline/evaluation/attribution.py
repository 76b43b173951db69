"""Integrated gradients (Sundararajan et al., 2017) of a class logit, for every model of the zoo.

The attribution of an input unit i (a token's embedding, or a pixel) to a row's logit F is
(x_i − x'_i) · ∫₀¹ ∂F/∂x_i (x' + α (x − x')) dα, with the baseline x' all zeros (embeddings of
zeros, a black image). Written as the derivative of F with respect to a per-unit scale s_i of the
input (x_i(s) = s_i · x_i), it is ∫₀¹ ∂F/∂s_i at s = α, computed with ``steps`` midpoints, all of
them at once under ``jax.vmap`` in one compiled function. A text model is scaled at the output of
each of its token embeddings (every member's, for an ensemble), so the attribution is per token and
covers subword vectors too. The attributions of a row sum to F(x) − F(x') up to the integral's
discretisation: the completeness gap ``integrated_gradients`` returns is that difference, which a
finer ``steps`` shrinks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from flaxline.models.base import ZooModel


class _ScaledEmbedding(nnx.Module):
    """A token embedding whose output is multiplied by one scale per token."""

    def __init__(self, embed: nnx.Module, scale: jax.Array):
        self.embed, self.scale = embed, nnx.Variable(scale)

    def __call__(self, ids: jax.Array) -> jax.Array:
        return self.scale[...][..., None].astype(jnp.float32) * self.embed(ids)


def _target_logits(graphdef: nnx.GraphDef, state: tuple, scale: jax.Array, batch: dict, targets: jax.Array):
    """Each row's target logit with its inputs scaled unit by unit. The model is rebuilt from ``state`` here, at
    the caller's trace level."""
    scaled = nnx.merge(graphdef, *state)
    scaled.eval()
    inputs = dict(batch)
    if "ids" in batch:
        for _, module in list(nnx.iter_graph(scaled)):
            embed = getattr(module, "embed", None)
            if isinstance(module, nnx.Module) and isinstance(embed, nnx.Embed):
                module.embed = _ScaledEmbedding(embed, scale)  # type: ignore[attr-defined]
    else:
        inputs["images"] = scale * batch["images"].astype(jnp.float32)
    logits = scaled(inputs)
    return jnp.take_along_axis(logits, targets[:, None], axis=1)[:, 0]


def integrated_gradients(
    model: ZooModel, batch: dict[str, np.ndarray], targets: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's attributions to its ``targets`` class logit, [B, L] per token or [B, H, W, C] per pixel value,
    and its completeness gap: the attributions' sum minus (F(x) − F(baseline))."""
    shape = batch["ids"].shape if "ids" in batch else batch["images"].shape
    graphdef, *states = nnx.split(model, nnx.Param, ...)
    params, rest = states

    @jax.jit
    def attribute(params, rest, batch, targets):
        def total(scale, params):
            return jnp.sum(_target_logits(graphdef, (params, rest), scale, batch, targets))

        alphas = (jnp.arange(steps, dtype=jnp.float32) + 0.5) / steps
        # Differentiated in the parameters too (and that gradient dropped): flax's RNN scans refuse the variables
        # of an outer trace level, which parameters held constant would be.
        gradient = jax.grad(total, argnums=(0, 1))
        scaled = jax.vmap(lambda alpha, params: gradient(jnp.full(shape, alpha), params)[0], (0, None))
        attributions = jnp.mean(scaled(alphas, params), axis=0)
        change = jnp.stack(
            [_target_logits(graphdef, (params, rest), jnp.full(shape, end), batch, targets) for end in (1.0, 0.0)]
        )
        return attributions, jnp.sum(attributions.reshape(len(targets), -1), axis=1) - (change[0] - change[1])

    attributions, gap = attribute(params, rest, jax.device_put(batch), jnp.asarray(targets))
    return np.asarray(attributions), np.asarray(gap)
