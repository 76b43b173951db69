"""Augmentation inside the compiled train step: random shifts, small rotations and mirror images (dm-pix).

``Augment`` is a layer of the image models, like dropout: active in training mode, drawing its
randomness from the model's seeded RNG state (so it is checkpointed and a resumed run draws
the same), and the identity in evaluation mode. It changes images only, never their labels.
"""

from __future__ import annotations

import math

import dm_pix as pix
import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field

from flaxline.config import Settings


class AugmentationSpec(Settings):
    """Random changes to each training image, drawn anew at every step; off by default."""

    shift: float = Field(0.0, ge=0.0, description="largest translation along each axis, in pixels")
    rotation: float = Field(0.0, ge=0.0, le=180.0, description="largest rotation either way, in degrees")
    flip: bool = Field(False, description="mirror half of the images left to right (wrong for digits and letters)")


class Augment(nnx.Module):
    """Each image of a batch [B, H, W, C] shifted and rotated about its centre (bilinear, zero fill), maybe mirrored."""

    def __init__(self, spec: AugmentationSpec, *, rngs: nnx.Rngs):
        self.shift, self.rotation, self.flip = spec.shift, math.radians(spec.rotation), spec.flip
        self.deterministic = False  # set by .train() / .eval(), like Dropout's
        self.rngs = rngs["augment"].fork()

    def __call__(self, images: jax.Array) -> jax.Array:
        if self.deterministic or not (self.shift or self.rotation or self.flip):
            return images
        keys = jax.random.split(self.rngs(), images.shape[0])
        return jax.vmap(self._augment_one)(images, keys)

    def _augment_one(self, image: jax.Array, key: jax.Array) -> jax.Array:
        angle_key, shift_key, flip_key = jax.random.split(key, 3)
        angle = jax.random.uniform(angle_key, (), minval=-self.rotation, maxval=self.rotation)
        shift = jax.random.uniform(shift_key, (2,), minval=-self.shift, maxval=self.shift)
        cos, sin = jnp.cos(angle), jnp.sin(angle)
        # dm-pix pulls each output pixel o from input position matrix @ o + offset: the inverse of
        # "rotate about the centre c, then shift", i.e. R⁻¹ o + c − R⁻¹ (c + shift).
        inverse = jnp.array([[cos, sin], [-sin, cos]])
        centre = (jnp.array(image.shape[:2], image.dtype) - 1.0) / 2.0
        matrix = jnp.eye(3, dtype=image.dtype).at[:2, :2].set(inverse)
        offset = jnp.concatenate([centre - inverse @ (centre + shift), jnp.zeros(1, image.dtype)])
        image = pix.affine_transform(image, matrix, offset=offset, order=1, mode="constant", cval=0.0)
        if self.flip:
            image = jnp.where(jax.random.bernoulli(flip_key), image[:, ::-1], image)
        return image
