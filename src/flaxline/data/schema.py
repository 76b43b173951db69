"""Declared schemas of the frames that cross stage boundaries (pandera)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from flaxline.errors import InputError

_HAS_ROWS = pa.Check(lambda frame: len(frame) > 0, error="the file has a header but no data rows")


def raw_schema(text_column: str, label_column: str) -> pa.DataFrameSchema:
    """The raw table: at least one row, and text and label columns read as text."""
    return pa.DataFrameSchema(
        {
            text_column: pa.Column(object, nullable=True, title="text"),
            label_column: pa.Column(object, nullable=True, title="label"),
        },
        checks=[_HAS_ROWS],
    )


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, source: str) -> pd.DataFrame:
    """Validate ``frame``; a failure becomes one ``InputError`` line that names ``source``."""
    try:
        return schema.validate(frame)
    except pa.errors.SchemaError as error:
        if error.reason_code == pa.errors.SchemaErrorReason.DATAFRAME_CHECK:
            message = error.check.error
        else:
            message = str(error).splitlines()[0]
        raise InputError(f"{source}: {message}") from None


def clean_schema(presplit: bool) -> pa.DataFrameSchema:
    """The clean table: one row per source line (per split file when the data came split), non-empty text."""
    columns = {
        "row": pa.Column(int),
        "text": pa.Column(str, pa.Check.str_length(min_value=1)),
        "label": pa.Column(str),
        "confidence": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True),
    }
    if presplit:
        columns["split"] = pa.Column(str, pa.Check.isin(["train", "validation", "test"]))
    return pa.DataFrameSchema(columns, unique=["split", "row"] if presplit else ["row"], strict=False)
