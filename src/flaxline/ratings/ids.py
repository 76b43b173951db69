"""Id maps fitted on the training ratings: each user and item a number from 1; 0 is one the training split never saw."""

from __future__ import annotations

import numpy as np
import pandas as pd


def fit_id_maps(train: pd.DataFrame) -> dict[str, list[str]]:
    """The training split's users and items, sorted, in the order of their ids (1, 2, ...)."""
    return {"users": sorted(train["user"].unique().tolist()), "items": sorted(train["item"].unique().tolist())}


def encode_ratings(rows: pd.DataFrame, id_maps: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """User ids, item ids (0 for unseen ones) and ratings of one split."""
    arrays = {}
    for side, column in (("users", "user"), ("items", "item")):
        index = {name: position for position, name in enumerate(id_maps[side], start=1)}
        arrays[side] = rows[column].map(index).fillna(0).to_numpy(np.int32)
    arrays["ratings"] = rows["rating"].to_numpy(np.float32)
    return arrays
