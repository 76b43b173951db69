"""Nodes of the features stage of rating tasks."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from flaxline.inputs import Encoding, RatingInputs
from flaxline.pipelines.rating_processing.nodes import RatingProcessingParams
from flaxline.ratings.ids import encode_ratings, fit_id_maps

logger = logging.getLogger(__name__)


def fit_rating_ids(train_rows: pd.DataFrame, processing: RatingProcessingParams) -> tuple[dict, dict]:
    """The id maps of the training split's users, items and user-days, and the encoding: their counts, the mean
    rating and the scale."""
    id_maps = fit_id_maps(train_rows)
    inputs = RatingInputs(
        users=len(id_maps["users"]) + 1,
        items=len(id_maps["items"]) + 1,
        user_days=len(id_maps["user_days"]) + 1,
        ratings=len(train_rows),
        global_mean=float(train_rows["rating"].mean()),
        scale=processing.scale,
    )
    logger.info(
        "%d users and %d items in train, mean rating %.3f", inputs.users - 1, inputs.items - 1, inputs.global_mean
    )
    return id_maps, Encoding(inputs=inputs, outputs=1).model_dump(mode="json")


def encode_rating_rows(rows: pd.DataFrame, id_maps: dict) -> dict[str, np.ndarray]:
    """User, item and user-day ids (0: unseen in train, the cold-start rule's case) and ratings of one split."""
    return encode_ratings(rows, id_maps)
