"""Id maps fitted on the training ratings: each user, item and user-day a number from 1; 0 is one the training
split never saw.

A user-day is a user and the UTC calendar day of a rating's timestamp (Koren's day-specific user bias, from
timeSVD++): people rate a session's films higher or lower than their average, and MovieLens moved from whole
to half stars in 2003. A rating without a timestamp has user-day 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 86_400


def user_days(rows: pd.DataFrame) -> pd.Series:
    """Each rating's user-day as ``"<user>@<day>"`` (days since 1970-01-01, UTC); missing without a timestamp."""
    days = np.floor(rows["timestamp"].astype(float) / SECONDS_PER_DAY)
    return (rows["user"].astype(str) + "@" + days.astype("Int64").astype(str)).where(days.notna())


def fit_id_maps(train: pd.DataFrame) -> dict[str, list[str]]:
    """The training split's users, items and user-days, sorted, in the order of their ids (1, 2, ...)."""
    return {
        "users": sorted(train["user"].unique().tolist()),
        "items": sorted(train["item"].unique().tolist()),
        "user_days": sorted(user_days(train).dropna().unique().tolist()),
    }


def encode_ratings(rows: pd.DataFrame, id_maps: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """User, item and user-day ids (0 for unseen ones) and ratings of one split."""
    keys = {"users": rows["user"], "items": rows["item"], "user_days": user_days(rows)}
    arrays = {}
    for side, names in id_maps.items():
        index = {name: position for position, name in enumerate(names, start=1)}
        arrays[side] = keys[side].map(index).fillna(0).to_numpy(np.int32)
    arrays["ratings"] = rows["rating"].to_numpy(np.float32)
    return arrays
