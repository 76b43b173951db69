"""Nodes of the data_processing stage of text tasks."""

from __future__ import annotations

import logging
from typing import ClassVar, Literal

import pandas as pd
from pydantic import Field

from flaxline.config import Settings
from flaxline.data.rejection import QualitySpec
from flaxline.data.schema import clean_schema, raw_schema, trainable_schema, validate
from flaxline.text.cleaning import CleaningPolicy
from flaxline.text.rows import REASONS, SPLIT, ColumnRoles, clean_table

logger = logging.getLogger(__name__)

TokenPolicy = Literal["keep", "replace", "remove"]


class ColumnsSpec(Settings):
    """Which raw column holds the text, the label and (optionally) the annotators' confidence."""

    text: str = "text"
    label: str = "label"
    confidence: str | None = None


class PolicySpec(Settings):
    """Links, mentions and hashtags: ``replace`` puts the placeholder in the text (hashtags: the word without ``#``)."""

    urls: TokenPolicy = "replace"
    mentions: TokenPolicy = "replace"
    hashtags: TokenPolicy = "replace"
    url_placeholder: str = "URL"
    mention_placeholder: str = "@user"


class TextProcessingParams(QualitySpec):
    """Reading and cleaning a raw table of labelled texts."""

    REASONS: ClassVar[tuple[str, ...]] = REASONS

    columns: ColumnsSpec = ColumnsSpec()
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="rows below it are rejected; null keeps them all"
    )
    policy: PolicySpec = PolicySpec()


def clean_texts(
    raw: pd.DataFrame, classes: list[str], parameters: TextProcessingParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Check the raw table's schema, clean every text and keep or reject each row with its reason.

    Returns the kept rows, the rejected rows and a report of what was counted. Bad input is
    one ``InputError`` line naming the file: the raw dataset puts its path in ``raw.attrs``.
    """
    roles = ColumnRoles(**parameters.columns.model_dump())
    source = raw.attrs.get("source", "raw data")
    raw = validate(raw, raw_schema(roles.text, roles.label, roles.confidence), source)
    policy = CleaningPolicy(**parameters.policy.model_dump())
    result = clean_table(raw, roles, list(classes), policy, parameters.min_confidence, parameters.label_normalization)
    validate(result.kept, trainable_schema(roles.label), source)
    # The cleaner's own output: a failure here is a bug, reported with its traceback.
    clean_schema(SPLIT in raw).validate(result.kept)
    return result.kept, result.rejected, result.report | {"source": source, "limits": parameters.limits()}
