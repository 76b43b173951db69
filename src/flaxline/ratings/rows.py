"""Cleaning a raw table of ratings: every row is either kept or rejected with its reason.

Rules, in this order (the first that fires is the row's reason):

1. ``parse_error``: the record did not have the header's number of fields.
2. ``missing_user`` / ``missing_item``: the id is empty.
3. ``invalid_rating``: the rating is not a number; ``rating_out_of_scale`` when outside the scale.
4. ``invalid_timestamp``: a timestamp is given but is not a number (an empty one is kept as missing).
5. ``duplicate``: the same (user, item) pair rated more than once (within a split when the data comes
   split): the latest timestamp wins (then the later row); the others are rejected.

Ids are kept as text, so ``7`` and ``"7"`` are one user.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flaxline.config import Settings
from flaxline.data.delimited import PARSE_ERROR
from flaxline.data.rejection import CleaningResult, Rejections, as_text
from flaxline.errors import InputError
from flaxline.text.rows import first_rows

REASONS = (
    "parse_error",
    "missing_user",
    "missing_item",
    "invalid_rating",
    "rating_out_of_scale",
    "invalid_timestamp",
    "duplicate",
)
CARRIED = ("split", "title")


class RatingColumns(Settings):
    """Which raw column holds the user, the item, the rating and (optionally) when it was given."""

    user: str = "userId"
    item: str = "movieId"
    rating: str = "rating"
    timestamp: str | None = "timestamp"


def clean_ratings(raw: pd.DataFrame, columns: RatingColumns, scale: tuple[float, float], source: str) -> CleaningResult:
    """Split ``raw`` into kept ratings (user, item, rating, timestamp) and rejected rows (with reason and detail)."""
    frame = pd.DataFrame(
        {
            "row": first_rows(raw),
            "user": as_text(raw[columns.user]).str.strip(),
            "item": as_text(raw[columns.item]).str.strip(),
            "given": as_text(raw[columns.rating]).str.strip(),
        }
    )
    carried = [column for column in CARRIED if column in raw]
    for column in carried:
        frame[column] = as_text(raw[column]).to_numpy()
    rejections = Rejections(frame.index)
    reject = rejections.reject
    if PARSE_ERROR in raw:
        errors = raw[PARSE_ERROR].fillna("").astype(object)
        reject(errors != "", "parse_error", errors)
    reject(frame["user"] == "", "missing_user")
    reject(frame["item"] == "", "missing_item")
    frame["rating"] = pd.to_numeric(frame["given"], errors="coerce").astype(float)
    reject(frame["rating"].isna(), "invalid_rating", "rating " + frame["given"].map(repr))
    low, high = scale
    outside = (frame["rating"] < low) | (frame["rating"] > high)
    _check_scale(frame["rating"][rejections.kept], outside, scale, columns.rating, source)
    reject(outside, "rating_out_of_scale", frame["rating"].map(lambda r: f"rating {r:g} outside [{low:g}, {high:g}]"))
    frame["timestamp"] = _timestamps(raw, columns, reject)
    _keep_latest(frame, rejections)

    kept_mask = rejections.kept
    kept = frame.loc[kept_mask, [*carried, "row", "user", "item", "rating", "timestamp"]].reset_index(drop=True)
    rejected = pd.DataFrame(
        {
            **{column: frame[column][~kept_mask] for column in carried},
            "row": frame["row"][~kept_mask],
            "user": frame["user"][~kept_mask],
            "item": frame["item"][~kept_mask],
            "rating": frame["given"][~kept_mask],
            "reason": rejections.reason[~kept_mask],
            "detail": rejections.detail[~kept_mask],
        }
    ).reset_index(drop=True)
    if len(kept) + len(rejected) != len(raw):
        raise AssertionError(f"{len(raw)} raw rows but {len(kept)} kept + {len(rejected)} rejected")
    report = {
        "raw_rows": len(raw),
        "kept_rows": len(kept),
        "rejected_rows": len(rejected),
        "rejected_by_reason": rejections.counts(),
        "users": int(kept["user"].nunique()),
        "items": int(kept["item"].nunique()),
        "scale": list(scale),
    }
    return CleaningResult(kept=kept, rejected=rejected, report=report)


def _check_scale(numbers: pd.Series, outside: pd.Series, scale: tuple[float, float], column: str, source: str) -> None:
    """One line when the scale contradicts the data: every rating that is a number (``numbers``) lies outside it."""
    if len(numbers) and outside[numbers.index].all():
        raise InputError(
            f"{source}: column {column!r}: every rating lies outside the scale [{scale[0]:g}, {scale[1]:g}] "
            f"(they span {numbers.min():g} to {numbers.max():g}); set data_processing.scale"
        )


def _timestamps(raw: pd.DataFrame, columns: RatingColumns, reject) -> pd.Series:
    if columns.timestamp is None:
        return pd.Series(np.nan, index=raw.index)
    given = as_text(raw[columns.timestamp]).str.strip()
    stamps = pd.to_numeric(given.where(given != ""), errors="coerce").astype(float)
    reject((given != "") & stamps.isna(), "invalid_timestamp", "timestamp " + given.map(repr))
    return stamps


def _keep_latest(frame: pd.DataFrame, rejections: Rejections) -> None:
    """Of the ratings of one (user, item) pair still kept, the latest (then the last in the file) wins."""
    keys = ["split", "user", "item"] if "split" in frame else ["user", "item"]
    candidates = frame[rejections.kept].assign(order=lambda f: f["timestamp"].fillna(-np.inf))
    ranked = candidates.sort_values([*keys, "order", "row"], kind="stable")
    winner = ranked.groupby(keys, sort=False)["row"].transform("last")
    superseded = ranked["row"] != winner
    rejections.reject(
        superseded.reindex(frame.index, fill_value=False),
        "duplicate",
        ("superseded by row " + winner.astype(str) + " (the latest)").reindex(frame.index, fill_value=""),
    )
