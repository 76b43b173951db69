"""Declared schemas of the frames that cross stage boundaries (pandera)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrorReason

from flaxline.data.delimited import PROVENANCE_COLUMNS
from flaxline.errors import InputError, shown

_HAS_ROWS = pa.Check(lambda frame: len(frame) > 0, error="the file has a header but no data rows")


def _integer_labels_as_text(labels: pd.Series) -> pd.Series:
    # Benchmark files often store labels as integers (0 / 1); they are their decimal text, and a
    # missing one stays missing.
    return labels.astype("str") if pd.api.types.is_integer_dtype(labels.dtype) else labels


def raw_schema(text_column: str, label_column: str, confidence_column: str | None = None) -> pa.DataFrameSchema:
    """The raw table: at least one row; the text column holds text, the label column text or
    integers (read as text); the confidence column, when one is configured, is present.

    A delimited file's cells are all text, so there a number in the text column is text ("123");
    a typed file (parquet) whose text column holds numbers has the wrong schema.
    """
    columns = {
        text_column: pa.Column(str, nullable=True, description="text"),
        label_column: pa.Column(
            str, nullable=True, parsers=pa.Parser(_integer_labels_as_text), description="text or integers"
        ),
    }
    if confidence_column is not None:
        columns[confidence_column] = pa.Column(nullable=True)
    return pa.DataFrameSchema(columns, checks=[_HAS_ROWS])


def image_schema() -> pa.DataFrameSchema:
    """Raw image rows (``flaxline.images``): at least one; each image's pixels as bytes with their shape."""
    columns = {
        "row": pa.Column(int),
        "label": pa.Column(
            str, nullable=True, parsers=pa.Parser(_integer_labels_as_text), description="text or integers"
        ),
        "image": pa.Column(object, description="bytes"),
        **{side: pa.Column(int) for side in ("height", "width", "channels")},
        "source": pa.Column(str),
        "read_error": pa.Column(str),
    }
    return pa.DataFrameSchema(columns, checks=[_HAS_ROWS])


def ratings_schema(columns: Any) -> pa.DataFrameSchema:
    """Raw ratings: at least one; user and item ids are text or integers (read as text); the rating and, when one
    is configured, the timestamp columns are present (their cells are checked row by row by the cleaner)."""
    ids = {
        name: pa.Column(str, nullable=True, parsers=pa.Parser(_integer_labels_as_text), description="text or integers")
        for name in (columns.user, columns.item)
    }
    others = {name: pa.Column(nullable=True) for name in (columns.rating, columns.timestamp) if name is not None}
    return pa.DataFrameSchema(ids | others, checks=[_HAS_ROWS])


def trainable_schema(label_column: str) -> pa.DataFrameSchema:
    """The kept rows of a classification task: at least two classes among them."""
    return pa.DataFrameSchema(
        checks=pa.Check(
            lambda kept: kept["label"].nunique() >= 2,
            error=f"column {shown(label_column)}: fewer than two classes among the kept rows; a classifier needs two",
        )
    )


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, source: str) -> pd.DataFrame:
    """Validate ``frame`` (and apply the schema's parsers); a failure becomes one ``InputError`` line that names
    ``source``."""
    try:
        return schema.validate(frame)
    except SchemaError as error:
        raise InputError(f"{source}: {_describe(error, frame)}") from None


def _describe(error: SchemaError, frame: pd.DataFrame) -> str:
    """One line naming the column and, where one value is at fault, its row (counted from 1)."""
    if error.reason_code == SchemaErrorReason.COLUMN_NOT_IN_DATAFRAME:
        names = [name for name in frame.columns if name not in PROVENANCE_COLUMNS]
        listed = ", ".join(shown(name) for name in names[:8]) + (", …" if len(names) > 8 else "")
        return f"column {shown(error.failure_cases)} is missing; the columns are {listed or 'none'}"
    if error.reason_code == SchemaErrorReason.DATAFRAME_CHECK and isinstance(error.schema, pa.DataFrameSchema):
        return error.check.error
    if error.reason_code == SchemaErrorReason.WRONG_DATATYPE:
        column = error.schema
        values = frame[column.name]
        if values.dtype == object and isinstance(error.failure_cases, pd.DataFrame):  # some objects are not text
            first = error.failure_cases.iloc[0]
            row = frame.index.get_loc(first["index"]) + 1
            value = first["failure_case"]
            return (
                f"column {shown(column.name)} row {row}: {type(value).__name__} {shown(value)}; "
                f"expected {column.description}"
            )
        return f"column {shown(column.name)} holds {values.dtype} values; expected {column.description}"
    return str(error).splitlines()[0]


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
