"""A LeNet/VGG-style image classifier: blocks of 3×3 convolutions and 2×2 max pooling, then a dense layer."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import jax
from flax import nnx
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.images.augment import AugmentationSpec
from flaxline.models.base import ImageInputs, ZooModel
from flaxline.models.images import ImageInput


class CNN2DSpec(Settings):
    """(3×3 conv → ReLU) × convs_per_block → 2×2 max pool, per block; flatten → dense → dropout → logits."""

    name: Literal["cnn2d"] = "cnn2d"
    channels: tuple[PositiveInt, ...] = Field(
        (32, 64), min_length=1, description="filters of each block's convolutions"
    )
    convs_per_block: PositiveInt = 2
    dense_dim: PositiveInt = 128
    dropout: float = Field(0.3, ge=0.0, lt=1.0, description="before the dense layer and before the output layer")
    augmentation: AugmentationSpec = AugmentationSpec()


class CNN2DClassifier(ZooModel):
    inputs_type: ClassVar = ImageInputs

    def __init__(self, spec: CNN2DSpec, inputs: ImageInputs, outputs: int, *, rngs: nnx.Rngs):
        self.input = ImageInput(inputs, spec.augmentation, rngs=rngs)
        height, width, channels = inputs.shape
        convolutions = []
        for filters in spec.channels:
            for _ in range(spec.convs_per_block):
                convolutions.append(nnx.Conv(channels, filters, kernel_size=(3, 3), padding="SAME", rngs=rngs))
                channels = filters
        self.convolutions = nnx.List(convolutions)
        self.convs_per_block = spec.convs_per_block
        # 2×2 pooling with VALID padding floors odd sizes; a side that reaches 1 stays 1.
        for _ in spec.channels:
            height, width = max(height // 2, 1), max(width // 2, 1)
        self.dropout = nnx.Dropout(spec.dropout, rngs=rngs)
        self.dense = nnx.Linear(height * width * channels, spec.dense_dim, rngs=rngs)
        self.head = nnx.Linear(spec.dense_dim, outputs, rngs=rngs)

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        x = self.input(batch["images"], self.convolutions[0].kernel.dtype)
        for index, convolution in enumerate(self.convolutions, 1):
            x = nnx.relu(convolution(x))
            if index % self.convs_per_block == 0:
                window = tuple(min(2, side) for side in x.shape[1:3])
                x = nnx.max_pool(x, window_shape=window, strides=window, padding="VALID")
        x = nnx.relu(self.dense(self.dropout(x.reshape(x.shape[0], math.prod(x.shape[1:])))))
        return self.head(self.dropout(x))
