"""Nodes of the features stage of image tasks."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from flaxline.data.labels import label_indices
from flaxline.errors import InputError
from flaxline.images.rows import images_array
from flaxline.inputs import Encoding, ImageInputs

logger = logging.getLogger(__name__)


def fit_image_statistics(train_rows: pd.DataFrame, classes: list[str]) -> dict:
    """The encoding: the images' shape and the training split's per-channel mean and standard deviation."""
    images = images_array(train_rows).astype(np.float64)
    mean, std = images.mean(axis=(0, 1, 2)), images.std(axis=(0, 1, 2))
    logger.info(
        "images %s: channel mean %s, std %s",
        list(images.shape[1:]),
        np.round(mean, 3).tolist(),
        np.round(std, 3).tolist(),
    )
    inputs = ImageInputs(shape=images.shape[1:], mean=tuple(mean.tolist()), std=tuple(std.tolist()))
    return Encoding(inputs=inputs, outputs=len(classes), classes=tuple(classes)).model_dump(mode="json")


def encode_images(rows: pd.DataFrame, encoding: dict, classes: list[str]) -> dict[str, np.ndarray]:
    """Pixels [N, H, W, C] (uint8, as stored: the model normalises them) and class indices [N] of one split."""
    images, inputs = images_array(rows), Encoding.model_validate(encoding).inputs
    if not isinstance(inputs, ImageInputs) or images.shape[1:] != inputs.shape:
        raise InputError(f"images of shape {list(images.shape[1:])}, but the encoding is for {inputs}")
    return {"images": images, "labels": label_indices(rows, classes)}
