"""Nodes of the data_processing stage of rating tasks."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from pydantic import Field, model_validator

from flaxline.data.rejection import QualitySpec
from flaxline.data.schema import ratings_schema, validate
from flaxline.ratings.rows import REASONS, RatingColumns, clean_ratings


class RatingProcessingParams(QualitySpec):
    """Reading and checking a raw table of ratings."""

    REASONS: ClassVar[tuple[str, ...]] = REASONS

    columns: RatingColumns = RatingColumns()
    scale: tuple[float, float] = Field((0.5, 5.0), description="the lowest and the highest rating")

    @model_validator(mode="after")
    def _ordered(self) -> RatingProcessingParams:
        if self.scale[0] >= self.scale[1]:
            raise ValueError(f"scale: the lowest rating must be below the highest, not {list(self.scale)}")
        return self


def clean_rating_rows(raw: pd.DataFrame, parameters: RatingProcessingParams) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Check the raw table's schema and keep or reject each rating with its reason; the kept and the rejected rows,
    and a report."""
    source = raw.attrs.get("source", "raw data")
    raw = validate(raw, ratings_schema(parameters.columns), source)
    result = clean_ratings(raw, parameters.columns, parameters.scale, source)
    return result.kept, result.rejected, result.report | {"source": source, "limits": parameters.limits()}
