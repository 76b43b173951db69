"""Nodes of the data-quality gate."""

from __future__ import annotations

import logging

import pandas as pd

from flaxline.data.rejection import check_rejection_limits

logger = logging.getLogger(__name__)


def accept_clean_rows(kept: pd.DataFrame, rejected: pd.DataFrame, cleaning_report: dict) -> pd.DataFrame:
    """The kept rows, once every reason's rejections are within the report's limits; else one line naming the source.

    The rejected rows and the report are saved before this runs, so a stopped run leaves them to look at.
    """
    logger.info(
        "%s: %d rows kept, %d rejected %s",
        cleaning_report["source"],
        cleaning_report["kept_rows"],
        cleaning_report["rejected_rows"],
        cleaning_report["rejected_by_reason"],
    )
    check_rejection_limits(rejected, cleaning_report["raw_rows"], cleaning_report["limits"], cleaning_report["source"])
    return kept
