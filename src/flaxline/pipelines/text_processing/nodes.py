"""Nodes of the data_processing stage of text tasks."""

from __future__ import annotations

import logging
from typing import ClassVar

import pandas as pd
from pydantic import Field

from flaxline.data.rejection import QualitySpec
from flaxline.data.schema import clean_schema, raw_schema, trainable_schema, validate
from flaxline.text.cleaning import CleaningPolicy
from flaxline.text.rows import REASONS, SPLIT, TextColumns, clean_table

logger = logging.getLogger(__name__)


class TextProcessingParams(QualitySpec):
    """Reading and cleaning a raw table of labelled texts."""

    REASONS: ClassVar[tuple[str, ...]] = REASONS

    columns: TextColumns = TextColumns()
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="rows below it are rejected; null keeps them all"
    )
    policy: CleaningPolicy = CleaningPolicy()


def clean_texts(
    raw: pd.DataFrame, classes: list[str], parameters: TextProcessingParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Check the raw table's schema, clean every text and keep or reject each row with its reason.

    Returns the kept rows, the rejected rows and a report of what was counted. Bad input is
    one ``InputError`` line naming the file: the raw dataset puts its path in ``raw.attrs``.
    """
    source, columns = raw.attrs.get("source", "raw data"), parameters.columns
    raw = validate(raw, raw_schema(columns.text, columns.label, columns.confidence), source)
    result = clean_table(
        raw, columns, list(classes), parameters.policy, parameters.min_confidence, parameters.label_normalization
    )
    validate(result.kept, trainable_schema(columns.label), source)
    # The cleaner's own output: a failure here is a bug, reported with its traceback.
    clean_schema(SPLIT in raw).validate(result.kept)
    return result.kept, result.rejected, result.report | {"source": source, "limits": parameters.limits()}
