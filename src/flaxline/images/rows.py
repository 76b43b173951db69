"""Cleaning raw image rows: every image is either kept or rejected with its reason.

Raw rows (``flaxline.images.idx``, ``folder``, ``digits``) hold each image's uint8 pixels as bytes
with their shape. Rules, in this order (the first that fires is the row's reason):

1. ``unreadable_image``: the reader could not decode it (its ``read_error`` is the detail).
2. ``missing_label`` / ``unknown_label``: no label, or one (after ``label_normalization``) outside the classes.
3. ``wrong_shape``: not the configured ``image_shape``, or when none is configured, not the shape
   most images have; ``corrupt_image`` when the bytes do not fill the shape.
4. Exact copies (the same pixels; within one split when the data comes split) vote on their label
   as copies of a text do (``flaxline.data.rejection.vote_on_copies``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from flaxline.data.rejection import (
    CleaningResult,
    Rejections,
    as_text,
    label_detail,
    normalized_labels,
    report_counts,
    vote_on_copies,
)

REASONS = (
    "unreadable_image",
    "missing_label",
    "unknown_label",
    "wrong_shape",
    "corrupt_image",
    "conflicting_label",
    "duplicate",
)
SHAPE = ["height", "width", "channels"]
SPLIT = "split"


def clean_images(
    raw: pd.DataFrame,
    classes: list[str],
    image_shape: tuple[int, int, int] | None = None,
    label_normalization: str = "none",
) -> CleaningResult:
    """Split raw image rows into kept rows and rejected rows (with reason and detail)."""
    given_labels = as_text(raw["label"])
    frame = raw.assign(label=normalized_labels(given_labels, classes, label_normalization), confidence=np.nan)
    rejections = Rejections(frame.index)
    reject = rejections.reject
    errors = as_text(raw["read_error"])
    reject(errors != "", "unreadable_image", errors)
    reject(given_labels.str.strip() == "", "missing_label")
    reject(~frame["label"].isin(classes), "unknown_label", label_detail(given_labels))

    shapes = frame[SHAPE].astype(int).apply(tuple, axis=1)
    expected = tuple(image_shape) if image_shape is not None else _most_common(shapes[rejections.kept])
    reject(
        shapes != expected, "wrong_shape", shapes.map(lambda shape: f"shape {list(shape)}, expected {list(expected)}")
    )
    sizes = frame["image"].map(len)
    reject(
        sizes != int(np.prod(expected)),
        "corrupt_image",
        sizes.map(lambda size: f"{size} bytes for a {list(expected)} image"),
    )

    split = frame[SPLIT].astype(str) + "\x00" if SPLIT in frame else ""
    vote_on_copies(frame, split + frame["image"].map(lambda pixels: hashlib.sha1(pixels).hexdigest()), rejections)

    kept_mask = rejections.kept
    columns = [column for column in raw.columns if column != "read_error"]
    kept = frame.loc[kept_mask, columns].reset_index(drop=True)
    rejected = (
        raw.loc[~kept_mask, [c for c in columns if c != "image"]]
        .assign(
            label=given_labels[~kept_mask], reason=rejections.reason[~kept_mask], detail=rejections.detail[~kept_mask]
        )
        .reset_index(drop=True)
    )
    report = report_counts(kept, rejected, len(raw), classes) | {
        "image_shape": list(expected),
        "label_normalization": label_normalization,
    }
    return CleaningResult(kept=kept, rejected=rejected, report=report)


def _most_common(shapes: pd.Series) -> tuple[int, int, int]:
    counts = shapes.value_counts()
    return tuple(counts.index[0]) if len(counts) else (0, 0, 0)


def images_array(rows: pd.DataFrame) -> np.ndarray:
    """The kept rows' pixels as one uint8 array [N, H, W, C] (every row has the same shape after cleaning)."""
    if rows.empty:
        return np.zeros((0, 0, 0, 0), dtype=np.uint8)
    height, width, channels = (int(rows[name].iloc[0]) for name in SHAPE)
    pixels = np.frombuffer(b"".join(rows["image"]), dtype=np.uint8)
    return pixels.reshape(len(rows), height, width, channels)
