"""Rows kept or rejected with their reason: the bookkeeping every cleaner shares, the vote among
copies of one example, label spelling, and the limits that stop a run whose data went wrong.

A cleaner gives each raw row at most one reason, the first rule that fires; kept rows have none,
and kept + rejected is always the raw table. ``check_rejection_limits`` then ends the run, in one
line, when a reason took more than its share of the rows, so that a file whose labels are spelled
`` Positive `` does not quietly train on a third of its rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar, Literal

import pandas as pd
from pydantic import Field, field_validator

from flaxline.config import Settings
from flaxline.errors import InputError, shown

# Each reason's default limit, as a share of the raw rows; copies are expected and unlimited.
DEFAULT_LIMIT = 0.05
UNLIMITED = ("duplicate", "low_confidence")


class QualitySpec(Settings):
    """How labels are compared with the classes, and how many rows each rejection reason may take."""

    REASONS: ClassVar[tuple[str, ...]] = ()

    label_normalization: Literal["none", "strip", "casefold"] = Field(
        "none",
        description="none: labels must be spelt as the classes; strip: outer whitespace ignored; "
        "casefold: case ignored too",
    )
    max_rejected_fraction: dict[str, float] = Field(
        default_factory=dict,
        description="per reason, the largest share of raw rows it may reject before the run stops; "
        f"a reason not listed: {DEFAULT_LIMIT} ({', '.join(UNLIMITED)}: 1.0)",
    )

    @field_validator("max_rejected_fraction")
    @classmethod
    def _known_reasons(cls, limits: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(limits) - set(cls.REASONS))
        if unknown:
            raise ValueError(f"unknown reason {unknown[0]!r}; known: {', '.join(cls.REASONS)}")
        if any(not 0.0 <= limit <= 1.0 for limit in limits.values()):
            raise ValueError("each limit is a share of the rows, from 0 to 1")
        return limits

    def limits(self) -> dict[str, float]:
        """The largest share of the raw rows each rejection reason may take."""
        return {
            reason: self.max_rejected_fraction.get(reason, 1.0 if reason in UNLIMITED else DEFAULT_LIMIT)
            for reason in self.REASONS
        }


@dataclass
class CleaningResult:
    """What a cleaner made of a raw table: the kept rows, the rejected ones with their reasons, and its report."""

    kept: pd.DataFrame
    rejected: pd.DataFrame
    report: dict


class Rejections:
    """The reason (and its detail) each row of a frame is rejected for, the first rule that fires; empty while kept."""

    def __init__(self, index: pd.Index):
        self.reason = pd.Series("", index=index, dtype=object)
        self.detail = pd.Series("", index=index, dtype=object)

    def reject(self, mask: pd.Series, why: str, what: pd.Series | str = "") -> None:
        fresh = mask & (self.reason == "")
        self.reason[fresh] = why
        self.detail[fresh] = what[fresh] if isinstance(what, pd.Series) else what

    @property
    def kept(self) -> pd.Series:
        return self.reason == ""

    def counts(self) -> dict[str, int]:
        return dict(Counter(self.reason[~self.kept]))


def normalized_labels(labels: pd.Series, classes: list[str], mode: str) -> pd.Series:
    """``labels`` as compared with ``classes``: as given, stripped, or (casefold) spelt as the class they match."""
    if mode == "none":
        return labels
    stripped = labels.str.strip()
    if mode == "strip":
        return stripped
    spelling = {name.casefold(): name for name in classes}
    return stripped.map(lambda label: spelling.get(label.casefold(), label))


def vote_on_copies(frame: pd.DataFrame, key: pd.Series, rejections: Rejections) -> None:
    """Rows of ``frame`` still kept that share a ``key`` are copies of one example, and vote on its label.

    The label with most copies wins, ties broken by the summed ``confidence`` (NaN counts 0);
    copies with another label are ``conflicting_label``, and when the vote is still tied every copy
    is. Of the winning copies the one with the highest confidence (then the first ``row``) is kept
    and the others are ``duplicate``.
    """
    candidates = frame[rejections.kept].assign(key=key[rejections.kept], weight=lambda f: f["confidence"].fillna(0.0))
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
    rejections.reject(
        outvoted.reindex(frame.index, fill_value=False),
        "conflicting_label",
        detail.astype(object).reindex(frame.index, fill_value=""),
    )
    winners = candidates[~outvoted].sort_values(["key", "weight", "row"], ascending=[True, False, True], kind="stable")
    first_row = winners.groupby("key", sort=False)["row"].transform("first")
    rejections.reject(
        (winners["row"] != first_row).astype(bool).reindex(frame.index, fill_value=False),
        "duplicate",
        ("duplicate of row " + first_row.astype(str)).astype(object).reindex(frame.index, fill_value=""),
    )


def check_rejection_limits(rejected: pd.DataFrame, raw_rows: int, limits: dict[str, float], source: str) -> None:
    """One line naming ``source`` and the first reason that rejected more than its share (``limits``) of the rows."""
    for reason, count in rejected["reason"].value_counts().items():
        limit = limits[str(reason)]
        if count > limit * raw_rows:
            example = rejected[rejected["reason"] == reason].iloc[0]
            where = f"row {example['row']}" + (f" of {example['split']}" if "split" in example else "")
            detail = f" ({example['detail']})" if example["detail"] else ""
            raise InputError(
                f"{source}: {count} of {raw_rows} rows ({count / raw_rows:.1%}) rejected as {reason}, "
                f"above the limit of {limit:.1%}; the first is {where}{detail}; "
                f"see the task's rejected rows, or set data_processing.max_rejected_fraction.{reason}"
                + (" or data_processing.label_normalization" if reason == "unknown_label" else "")
            )


def report_counts(kept: pd.DataFrame, rejected: pd.DataFrame, raw_rows: int, classes: list[str]) -> dict:
    """The counts every cleaning report starts with; raw = kept + rejected is checked here."""
    if len(kept) + len(rejected) != raw_rows:
        raise AssertionError(f"{raw_rows} raw rows but {len(kept)} kept + {len(rejected)} rejected")
    by_label = kept["label"].value_counts().reindex(classes, fill_value=0)
    return {
        "raw_rows": raw_rows,
        "kept_rows": len(kept),
        "rejected_rows": len(rejected),
        "rejected_by_reason": dict(Counter(rejected["reason"])),
        "kept_by_label": {label: int(n) for label, n in by_label.items()},
    }


def as_text(column: pd.Series) -> pd.Series:
    """Cells as strings, a missing cell as the empty string (whatever the column's dtype)."""
    return pd.Series([("" if pd.isna(v) else str(v)) for v in column], index=column.index, dtype=object)


def label_detail(labels: pd.Series) -> pd.Series:
    return "label " + labels.map(lambda label: shown(label))
