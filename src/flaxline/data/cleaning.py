"""Cleaning a raw labelled table: every row is either kept or rejected with its reason.

Rules, applied in this order (the first that fires is the row's reason):

1. ``parse_error``: the record did not have the header's number of fields.
2. ``missing_text`` / ``missing_label``: the field is empty.
3. ``unknown_label``: the label is not one of the configured classes.
4. ``invalid_confidence``: a confidence is given but is not a number in [0, 1]; an empty
   confidence is kept as missing. ``low_confidence`` when below ``min_confidence``.
5. ``empty_after_cleaning``: nothing is left once the text is cleaned.
6. Copies of one text (the cleaned text compared case-insensitively, so retweets of one
   message with different links count as copies; within one split when the raw data comes
   already split, so that a fixed test set stays whole) vote on its label: the label with most
   copies wins, ties broken by the summed confidence; copies with another label are
   ``conflicting_label``, and when the vote is still tied every copy is. Of the winning
   copies the one with the highest confidence (then the first) is kept and the others are
   ``duplicate``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from flaxline.data.delimited import PARSE_ERROR, SOURCE_ENCODING, SOURCE_LINE
from flaxline.text.cleaning import CleaningPolicy, clean_text

REJECTED_COLUMNS = ["row", "text", "label", "reason", "detail"]
SPLIT = "split"


@dataclass(frozen=True)
class ColumnRoles:
    """Which raw column plays which role; ``confidence`` is optional."""

    text: str = "text"
    label: str = "label"
    confidence: str | None = None


@dataclass
class CleaningResult:
    kept: pd.DataFrame
    rejected: pd.DataFrame
    report: dict = field(default_factory=dict)


def clean_table(
    raw: pd.DataFrame,
    roles: ColumnRoles,
    classes: list[str],
    policy: CleaningPolicy = CleaningPolicy(),
    min_confidence: float | None = None,
) -> CleaningResult:
    """Split ``raw`` into kept rows (cleaned) and rejected rows (with reason and detail)."""
    frame = pd.DataFrame(
        {
            "row": raw[SOURCE_LINE].to_numpy() if SOURCE_LINE in raw else np.arange(1, len(raw) + 1),
            "raw_text": _as_text(raw[roles.text]),
            "label": _as_text(raw[roles.label]).str.strip(),
        }
    )
    carried = [SPLIT] if SPLIT in raw else []
    for column in carried:
        frame[column] = raw[column].to_numpy()
    reason = pd.Series("", index=frame.index, dtype=object)
    detail = pd.Series("", index=frame.index, dtype=object)

    def reject(mask: pd.Series, why: str, what: pd.Series | str = "") -> None:
        fresh = mask & (reason == "")
        reason[fresh] = why
        detail[fresh] = what[fresh] if isinstance(what, pd.Series) else what

    if PARSE_ERROR in raw:
        errors = raw[PARSE_ERROR].fillna("").astype(object)
        reject(errors != "", "parse_error", errors)
    reject(frame["raw_text"].str.strip() == "", "missing_text")
    reject(frame["label"] == "", "missing_label")
    reject(~frame["label"].isin(classes), "unknown_label", "label " + frame["label"].map(repr))

    if roles.confidence is not None:
        given = _as_text(raw[roles.confidence]).str.strip()
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

    _reject_duplicates(frame, reason, reject)

    kept_mask = reason == ""
    kept = frame.loc[kept_mask, [*carried, "row", "text", "label", "confidence"]].reset_index(drop=True)
    if SOURCE_ENCODING in raw:
        kept["source_encoding"] = raw.loc[kept_mask.to_numpy(), SOURCE_ENCODING].to_numpy()
    rejected = pd.DataFrame(
        {
            **{column: frame[column][~kept_mask] for column in carried},
            "row": frame["row"][~kept_mask],
            "text": frame["raw_text"][~kept_mask],
            "label": frame["label"][~kept_mask],
            "reason": reason[~kept_mask],
            "detail": detail[~kept_mask],
        },
        columns=[*carried, *REJECTED_COLUMNS],
    ).reset_index(drop=True)
    if len(kept) + len(rejected) != len(raw):
        raise AssertionError(f"{len(raw)} raw rows but {len(kept)} kept + {len(rejected)} rejected")

    report = {
        "raw_rows": len(raw),
        "kept_rows": len(kept),
        "rejected_rows": len(rejected),
        "rejected_by_reason": dict(Counter(rejected["reason"])),
        "decoded_lines_by_encoding": dict(raw.attrs.get("encodings", {})),
        "texts_changed_by_ftfy": sum(c.changed_by_ftfy for c in cleaned),
        "mojibake_runs_repaired": sum(c.mojibake_repaired for c in cleaned),
        "mojibake_runs_replaced": sum(c.mojibake_replaced for c in cleaned),
        "texts_with_mojibake_replaced": sum(c.mojibake_replaced > 0 for c in cleaned),
        "urls": sum(c.urls for c in cleaned),
        "mentions": sum(c.mentions for c in cleaned),
        "hashtags": sum(c.hashtags for c in cleaned),
        "policy": vars(policy),
        "kept_by_label": {label: int(n) for label, n in kept["label"].value_counts().reindex(classes, fill_value=0).items()},
    }
    return CleaningResult(kept=kept, rejected=rejected, report=report)


def _as_text(column: pd.Series) -> pd.Series:
    """Cells as strings, a missing cell as the empty string (whatever the column's dtype)."""
    return pd.Series([("" if pd.isna(v) else str(v)) for v in column], index=column.index, dtype=object)


def _reject_duplicates(frame: pd.DataFrame, reason: pd.Series, reject) -> None:
    candidates = frame[reason == ""].assign(
        key=lambda f: (f[SPLIT].astype(str) + "\x00" if SPLIT in f else "") + f["text"].str.casefold(),
        weight=lambda f: f["confidence"].fillna(0.0),
    )
    votes = (
        candidates.groupby(["key", "label"], sort=False)
        .agg(copies=("row", "size"), weight=("weight", "sum"))
        .reset_index()
        .sort_values(["key", "copies", "weight"], ascending=[True, False, False], kind="stable")
    )
    ranked = votes.groupby("key", sort=False)
    best = ranked.head(1).set_index("key")
    runner_up = ranked.nth(1).set_index("key").reindex(best.index)
    tied = (runner_up["copies"] == best["copies"]) & (runner_up["weight"] == best["weight"])
    total = ranked["copies"].sum()
    winner = candidates["key"].map(best["label"].where(~tied))
    outvoted = (candidates["label"] != winner).astype(bool)
    detail = candidates["key"].map(
        best["label"].map(repr).radd("label vote won by ").where(~tied, "label vote tied")
        + " of "
        + total.astype(str)
        + " copies"
    )
    reject(outvoted.reindex(frame.index, fill_value=False), "conflicting_label", detail.astype(object).reindex(frame.index, fill_value=""))

    winners = candidates[~outvoted].sort_values(["key", "weight", "row"], ascending=[True, False, True], kind="stable")
    first_row = winners.groupby("key", sort=False)["row"].transform("first")
    reject(
        (winners["row"] != first_row).astype(bool).reindex(frame.index, fill_value=False),
        "duplicate",
        ("duplicate of row " + first_row.astype(str)).astype(object).reindex(frame.index, fill_value=""),
    )
