"""Rating metrics (errors of ratings clipped to the scale, ranking per user) and the biases baseline.

Ranking is per user on the test split: the user's test items ranked by predicted rating. NDCG@k uses
the true ratings as gains (the ideal order is by true rating); precision@k is the share of the top k
(or of all the user's test items, when fewer) that are relevant (rated at least ``relevant_at``),
recall@k the share of the user's relevant items in the top k (users with at least one). Each is the
mean over the users it is defined for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def error_metrics(ratings: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    errors = predicted - ratings
    mse = float(np.mean(errors**2))
    return {"rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(errors))), "mse": mse}


def ranking_metrics(users: np.ndarray, ratings: np.ndarray, predicted: np.ndarray, k: int, relevant_at: float) -> dict:
    """NDCG@k, precision@k and recall@k, each the mean over users (see the module's docstring)."""
    ndcg, precision, recall = [], [], []
    frame = pd.DataFrame({"user": users, "rating": ratings, "predicted": predicted})
    for _, one in frame.groupby("user", sort=False):
        order = np.argsort(-one["predicted"].to_numpy(), kind="stable")[:k]
        gains = one["rating"].to_numpy()
        discounts = 1.0 / np.log2(np.arange(2, len(order) + 2))
        ideal = float(np.sum(np.sort(gains)[::-1][:k] * discounts))
        ndcg.append(float(np.sum(gains[order] * discounts)) / ideal if ideal > 0 else 0.0)
        relevant = gains >= relevant_at
        precision.append(float(relevant[order].mean()))
        if relevant.any():
            recall.append(float(relevant[order].sum() / relevant.sum()))
    return {
        f"ndcg_at_{k}": float(np.mean(ndcg)),
        f"precision_at_{k}": float(np.mean(precision)),
        f"recall_at_{k}": float(np.mean(recall)) if recall else 0.0,
        "ranked_users": len(ndcg),
    }


def fit_biases(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    shape: tuple[int, int],
    global_mean: float,
    regularization: tuple[float, float] = (15.0, 10.0),
    rounds: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """User and item biases of ``ratings ≈ global_mean + b_user + b_item`` by alternating least squares, each
    shrunk towards 0 by its regularization (users, items), as Koren's baseline estimates; id 0 keeps bias 0."""
    user_bias, item_bias = np.zeros(shape[0]), np.zeros(shape[1])
    user_count, item_count = np.bincount(users, minlength=shape[0]), np.bincount(items, minlength=shape[1])
    for _ in range(rounds):
        residual = ratings - global_mean - user_bias[users]
        item_bias = np.bincount(items, residual, minlength=shape[1]) / (regularization[1] + item_count)
        residual = ratings - global_mean - item_bias[items]
        user_bias = np.bincount(users, residual, minlength=shape[0]) / (regularization[0] + user_count)
    user_bias[0] = item_bias[0] = 0.0
    return user_bias, item_bias
