"""Cleaning a raw table of labelled texts: every row is either kept or rejected with its reason.

Rules, applied in this order (the first that fires is the row's reason):

1. ``parse_error``: the record did not have the header's number of fields.
2. ``missing_text`` / ``missing_label``: the field is empty.
3. ``unknown_label``: the label (after ``label_normalization``) is not one of the configured classes.
4. ``invalid_confidence``: a confidence is given but is not a number in [0, 1]; an empty
   confidence is kept as missing. ``low_confidence`` when below ``min_confidence``.
5. ``empty_after_cleaning``: nothing is left once the text is cleaned.
6. Copies of one text (the cleaned text compared case-insensitively, so retweets of one
   message with different links count as copies; within one split when the raw data comes
   already split, so that a fixed test set stays whole) vote on its label
   (``flaxline.data.rejection.vote_on_copies``): ``conflicting_label`` and ``duplicate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flaxline.config import Settings
from flaxline.data.delimited import PARSE_ERROR, PROVENANCE_COLUMNS, SOURCE_ENCODING
from flaxline.data.rejection import (
    CleaningResult,
    Rejections,
    as_text,
    label_detail,
    normalized_labels,
    report_counts,
    vote_on_copies,
)
from flaxline.text.cleaning import DEFAULT_POLICY, CleaningPolicy, clean_text

REASONS = (
    "parse_error",
    "missing_text",
    "missing_label",
    "unknown_label",
    "invalid_confidence",
    "low_confidence",
    "empty_after_cleaning",
    "conflicting_label",
    "duplicate",
)
SPLIT = "split"
# What keeps a row from being scored (batch inference, the HTTP service): its label plays no part.
SCORING_REASONS = ("parse_error", "missing_text", "empty_after_cleaning")


class TextColumns(Settings):
    """Which raw column holds the text, the label and (optionally) the annotators' confidence."""

    text: str = "text"
    label: str = "label"
    confidence: str | None = None


def clean_table(
    raw: pd.DataFrame,
    columns: TextColumns,
    classes: list[str],
    policy: CleaningPolicy = DEFAULT_POLICY,
    min_confidence: float | None = None,
    label_normalization: str = "none",
) -> CleaningResult:
    """Split ``raw`` into kept rows (cleaned) and rejected rows (with reason and detail)."""
    given_labels = as_text(raw[columns.label])
    frame = pd.DataFrame(
        {
            "row": first_rows(raw),
            "raw_text": as_text(raw[columns.text]),
            "label": normalized_labels(given_labels, classes, label_normalization),
        }
    )
    carried = [SPLIT] if SPLIT in raw else []
    for column in carried:
        frame[column] = raw[column].to_numpy()
    rejections = Rejections(frame.index)
    reject = rejections.reject

    if PARSE_ERROR in raw:
        errors = raw[PARSE_ERROR].fillna("").astype(object)
        reject(errors != "", "parse_error", errors)
    reject(frame["raw_text"].str.strip() == "", "missing_text")
    reject(given_labels.str.strip() == "", "missing_label")
    reject(~frame["label"].isin(classes), "unknown_label", label_detail(given_labels))

    if columns.confidence is not None:
        given = as_text(raw[columns.confidence]).str.strip()
        confidence = pd.to_numeric(given.where(given != ""), errors="coerce")
        invalid = (given != "") & (confidence.isna() | (confidence < 0) | (confidence > 1))
        reject(invalid, "invalid_confidence", "confidence " + given.map(repr))
        if min_confidence is not None:
            reject(confidence < min_confidence, "low_confidence", confidence.map(lambda c: f"confidence {c:g}"))
        frame["confidence"] = confidence.where(~invalid).astype(float)
    else:
        frame["confidence"] = np.nan

    cleaned = [clean_text(text, policy) for text in frame["raw_text"]]
    frame["text"] = pd.Series([c.text for c in cleaned], index=frame.index, dtype=object)
    reject(frame["text"] == "", "empty_after_cleaning")

    key = (frame[SPLIT].astype(str) + "\x00" if SPLIT in frame else "") + frame["text"].str.casefold()
    vote_on_copies(frame, key, rejections)

    kept_mask = rejections.kept
    kept = frame.loc[kept_mask, [*carried, "row", "text", "label", "confidence"]].reset_index(drop=True)
    if SOURCE_ENCODING in raw:
        kept["source_encoding"] = raw.loc[kept_mask.to_numpy(), SOURCE_ENCODING].to_numpy()
    rejected = pd.DataFrame(
        {
            **{column: frame[column][~kept_mask] for column in carried},
            "row": frame["row"][~kept_mask],
            "text": frame["raw_text"][~kept_mask],
            "label": given_labels[~kept_mask],
            "reason": rejections.reason[~kept_mask],
            "detail": rejections.detail[~kept_mask],
        },
        columns=[*carried, "row", "text", "label", "reason", "detail"],
    ).reset_index(drop=True)
    report = report_counts(kept, rejected, len(raw), classes) | {
        "decoded_lines_by_encoding": dict(raw.attrs.get("encodings", {})),
        "texts_changed_by_ftfy": sum(c.changed_by_ftfy for c in cleaned),
        "mojibake_runs_repaired": sum(c.mojibake_repaired for c in cleaned),
        "mojibake_runs_replaced": sum(c.mojibake_replaced for c in cleaned),
        "texts_with_mojibake_replaced": sum(c.mojibake_replaced > 0 for c in cleaned),
        "urls": sum(c.urls for c in cleaned),
        "mentions": sum(c.mentions for c in cleaned),
        "hashtags": sum(c.hashtags for c in cleaned),
        "policy": policy.model_dump(),
        "label_normalization": label_normalization,
    }
    return CleaningResult(kept=kept, rejected=rejected, report=report)


def first_rows(frame: pd.DataFrame) -> np.ndarray:
    """Row numbers of a raw table: its ``source_line`` (delimited files) or ``row`` column, else 1, 2, ..."""
    for column in ("source_line", "row"):
        if column in frame:
            return frame[column].to_numpy()
    return np.arange(1, len(frame) + 1)


def scoring_table(raw: pd.DataFrame, text_column: str, policy: CleaningPolicy = DEFAULT_POLICY) -> CleaningResult:
    """Rows to score, cleaned as training cleans them, each kept or rejected with its reason (``SCORING_REASONS``).

    Every copy of a text is scored and any label is carried as given; the raw table's other columns (an id, say)
    stay beside each row. The report counts the rows by reason.
    """
    frame = raw.drop(columns=[c for c in (*PROVENANCE_COLUMNS, "row") if c in raw]).reset_index(drop=True)
    frame.insert(0, "row", first_rows(raw))
    raw_text = as_text(raw[text_column]).reset_index(drop=True)
    rejections = Rejections(frame.index)
    if PARSE_ERROR in raw:
        errors = raw[PARSE_ERROR].fillna("").astype(object).reset_index(drop=True)
        rejections.reject(errors != "", "parse_error", errors)
    rejections.reject(raw_text.str.strip() == "", "missing_text")
    cleaned = pd.Series([clean_text(text, policy).text for text in raw_text], index=frame.index, dtype=object)
    rejections.reject(cleaned == "", "empty_after_cleaning")
    kept = frame[rejections.kept].assign(clean_text=cleaned[rejections.kept]).reset_index(drop=True)
    rejected = frame[~rejections.kept].assign(
        reason=rejections.reason[~rejections.kept], detail=rejections.detail[~rejections.kept]
    )
    return CleaningResult(kept=kept, rejected=rejected.reset_index(drop=True), report=rejections.counts())
