"""Nodes of the data_processing stage."""

from __future__ import annotations

import logging

import pandas as pd

from flaxline.data.cleaning import SPLIT, ColumnRoles, clean_table
from flaxline.data.schema import clean_schema, raw_schema, trainable_schema, validate
from flaxline.text.cleaning import CleaningPolicy

logger = logging.getLogger(__name__)


def clean_raw_data(raw: pd.DataFrame, classes: list[str], parameters: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Check the raw table's schema, clean every text and keep or reject each row with its reason.

    Returns the clean rows, the rejected rows and a report of what was counted. Bad input is
    one ``InputError`` line naming the file: the raw dataset puts its path in ``raw.attrs``.
    """
    roles = ColumnRoles(**parameters["columns"])
    source = raw.attrs.get("source", "raw data")
    raw = validate(raw, raw_schema(roles.text, roles.label, roles.confidence), source)
    result = clean_table(
        raw, roles, list(classes), CleaningPolicy(**parameters["policy"]), parameters.get("min_confidence")
    )
    logger.info(
        "%s: %d rows kept %s, %d rejected %s",
        source,
        result.report["kept_rows"],
        result.report["kept_by_label"],
        result.report["rejected_rows"],
        result.report["rejected_by_reason"],
    )
    validate(result.kept, trainable_schema(roles.label), source)
    # The cleaner's own output: a failure here is a bug, reported with its traceback.
    clean_schema(SPLIT in raw).validate(result.kept)
    return result.kept, result.rejected, result.report
