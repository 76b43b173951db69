"""Nodes of the data_processing stage of image tasks."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from pydantic import Field, PositiveInt

from flaxline.data.rejection import QualitySpec
from flaxline.data.schema import image_schema, trainable_schema, validate
from flaxline.images.rows import REASONS, clean_images


class ImageProcessingParams(QualitySpec):
    """Checking raw images: their shape, their labels, copies."""

    REASONS: ClassVar[tuple[str, ...]] = REASONS

    image_shape: tuple[PositiveInt, PositiveInt, PositiveInt] | None = Field(
        None, description="[height, width, channels] every image must have; null: the shape most images have"
    )


def clean_image_rows(
    raw: pd.DataFrame, classes: list[str], parameters: ImageProcessingParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Check the raw rows' schema and keep or reject each image with its reason; the kept rows, the rejected ones, a
    report."""
    source = raw.attrs.get("source", "raw data")
    raw = validate(raw, image_schema(), source)
    result = clean_images(raw, list(classes), parameters.image_shape, parameters.label_normalization)
    validate(result.kept, trainable_schema("label"), source)
    return result.kept, result.rejected, result.report | {"source": source, "limits": parameters.limits()}
