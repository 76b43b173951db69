"""Train / validation / test ratings: the data's own splits, a seeded random split, or by time per user."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flaxline.data.split import SPLITS
from flaxline.errors import InputError


def random_split(
    frame: pd.DataFrame, validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, pd.DataFrame]:
    """Each rating to test, validation or train at random (seeded), in the given shares."""
    draw = np.random.default_rng(seed).random(len(frame))
    part = np.where(
        draw < test_fraction, "test", np.where(draw < test_fraction + validation_fraction, "validation", "train")
    )
    return {name: frame[part == name].reset_index(drop=True) for name in SPLITS}


def split_by_time(frame: pd.DataFrame, validation_fraction: float, test_fraction: float) -> dict[str, pd.DataFrame]:
    """Each user's latest ratings to test, the ones before them to validation, the rest to train (as a deployed
    recommender meets them: the past predicts the future). A user's shares are rounded down, so a user with few
    ratings keeps them in train."""
    if frame["timestamp"].isna().any():
        raise InputError("column 'timestamp': a split by time needs every rating's timestamp")
    ordered = frame.sort_values(["user", "timestamp", "row"], kind="stable")
    position = ordered.groupby("user").cumcount(ascending=False)  # 0: the user's latest
    count = ordered.groupby("user")["row"].transform("size")
    tests, validations = np.floor(count * test_fraction), np.floor(count * validation_fraction)
    part = np.where(position < tests, "test", np.where(position < tests + validations, "validation", "train"))
    return {name: ordered[part == name].sort_values("row").reset_index(drop=True) for name in SPLITS}


def predefined_rating_split(frame: pd.DataFrame, column: str = "split") -> dict[str, pd.DataFrame]:
    """The splits named in the data's ``split`` column; each must have ratings."""
    unknown = sorted(set(frame[column]) - set(SPLITS))
    if unknown:
        raise InputError(f"column '{column}': unknown split {unknown[0]!r}; splits are {', '.join(SPLITS)}")
    parts = {name: frame[frame[column] == name].drop(columns=column).reset_index(drop=True) for name in SPLITS}
    empty = [name for name, part in parts.items() if part.empty]
    if empty:
        raise InputError(f"column '{column}': split '{empty[0]}' has no ratings")
    return parts
