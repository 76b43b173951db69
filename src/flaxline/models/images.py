"""What the image models share: pixels normalised with the training split's statistics, then augmented."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from flaxline.images.augment import Augment, AugmentationSpec
from flaxline.models.base import ImageInputs


class ImageInput(nnx.Module):
    """Images [B, H, W, C] in stored units → augmented (training only) → normalised, in ``dtype``: the
    dtype of the layer that reads them, so that bf16 compute (parameters cast) runs the whole network in bf16."""

    def __init__(self, inputs: ImageInputs, augmentation: AugmentationSpec, *, rngs: nnx.Rngs):
        # Tuples are static: the statistics are folded into the compiled graph and saved with the config.
        self.mean, self.std = inputs.mean, tuple(max(value, 1e-6) for value in inputs.std)
        self.augment = Augment(augmentation, rngs=rngs)

    def __call__(self, images: jax.Array, dtype: jnp.dtype) -> jax.Array:
        pixels = self.augment(images.astype(jnp.float32))
        return ((pixels - jnp.asarray(self.mean)) / jnp.asarray(self.std)).astype(dtype)
