"""Top-N recommendations: a user's predicted rating of every item the training split knows, best first."""

from __future__ import annotations

import numpy as np

from flaxline.engine.batching import Batching
from flaxline.engine.inference import predict
from flaxline.models.base import ZooModel


def top_items(
    model: ZooModel, user: int, items: int, rated: np.ndarray, n: int, batching: Batching, scale: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The ids (1 .. items - 1) and clipped predicted ratings of the ``n`` best items for user id ``user`` (0: a
    user the training split never saw, ranked by the items' biases), leaving out the item ids in ``rated``.
    The rating's day is unknown, so no user-day bias applies (it would shift every item alike)."""
    candidates = np.arange(1, items, dtype=np.int32)
    grid = {
        "users": np.full(len(candidates), user, np.int32),
        "items": candidates,
        "user_days": np.zeros_like(candidates),
    }
    scores = np.clip(predict(model, grid, batching)["rating"], *scale)
    scores[rated - 1] = -np.inf
    best = np.argsort(-scores, kind="stable")[:n]
    return candidates[best], scores[best]
