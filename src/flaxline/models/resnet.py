"""A small pre-activation ResNet (He et al., 2016, "Identity Mappings in Deep Residual Networks")."""

from __future__ import annotations

from typing import ClassVar, Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field, PositiveInt, model_validator

from flaxline.config import Settings
from flaxline.images.augment import AugmentationSpec
from flaxline.models.base import ImageInputs, ZooModel
from flaxline.models.images import ImageInput


class ResNetSpec(Settings):
    """3×3 stem → stages of pre-activation residual blocks (each stage after the first halves the
    resolution) → norm → ReLU → global average pool → logits. Group normalisation keeps no batch
    statistics, so the filler rows of a last partial batch change nothing."""

    name: Literal["resnet"] = "resnet"
    widths: tuple[PositiveInt, ...] = Field((16, 32, 64), min_length=1, description="channels of each stage")
    blocks_per_stage: PositiveInt = 2
    groups: PositiveInt = Field(8, description="groups of the group normalisation (at most a stage's width)")
    augmentation: AugmentationSpec = AugmentationSpec()

    @model_validator(mode="after")
    def _groups_divide_widths(self) -> ResNetSpec:
        uneven = [width for width in self.widths if width % min(self.groups, width)]
        if uneven:
            raise ValueError(f"groups {self.groups} do not divide a stage of width {uneven[0]}")
        return self


def _norm(channels: int, groups: int, rngs: nnx.Rngs) -> nnx.GroupNorm:
    return nnx.GroupNorm(channels, num_groups=min(groups, channels), rngs=rngs)


class PreActBlock(nnx.Module):
    """norm → ReLU → conv (stride) → norm → ReLU → conv, added to the input (projected when the shape changes)."""

    def __init__(self, channels_in: int, channels: int, stride: int, groups: int, *, rngs: nnx.Rngs):
        self.norm_in = _norm(channels_in, groups, rngs)
        self.conv_in = nnx.Conv(channels_in, channels, (3, 3), strides=stride, padding="SAME", rngs=rngs)
        self.norm_out = _norm(channels, groups, rngs)
        self.conv_out = nnx.Conv(channels, channels, (3, 3), padding="SAME", rngs=rngs)
        changes = stride != 1 or channels_in != channels
        self.projection = nnx.data(
            nnx.Conv(channels_in, channels, (1, 1), strides=stride, rngs=rngs) if changes else None
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        activated = nnx.relu(self.norm_in(x))
        shortcut = x if self.projection is None else self.projection(activated)
        return shortcut + self.conv_out(nnx.relu(self.norm_out(self.conv_in(activated))))


class ResNetClassifier(ZooModel):
    inputs_type: ClassVar = ImageInputs

    def __init__(self, spec: ResNetSpec, inputs: ImageInputs, outputs: int, *, rngs: nnx.Rngs):
        self.input = ImageInput(inputs, spec.augmentation, rngs=rngs)
        self.stem = nnx.Conv(inputs.shape[2], spec.widths[0], (3, 3), padding="SAME", rngs=rngs)
        blocks, channels = [], spec.widths[0]
        for stage, width in enumerate(spec.widths):
            for block in range(spec.blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(PreActBlock(channels, width, stride, spec.groups, rngs=rngs))
                channels = width
        self.blocks = nnx.List(blocks)
        self.norm = _norm(channels, spec.groups, rngs)
        self.head = nnx.Linear(channels, outputs, rngs=rngs)

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        x = self.stem(self.input(batch["images"], self.stem.kernel.dtype))
        for block in self.blocks:
            x = block(x)
        return self.head(jnp.mean(nnx.relu(self.norm(x)), axis=(1, 2)))
