"""Nodes of the evaluation stage of rating tasks."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from flaxline.config import Settings
from flaxline.engine.batching import Batching
from flaxline.engine.devices import resolve_placement
from flaxline.engine.inference import predict
from flaxline.evaluation.figures import error_by_activity_figure, learning_curves_figure
from flaxline.inputs import Encoding, RatingInputs
from flaxline.models.serialization import ModelArtifact
from flaxline.ratings.metrics import error_metrics, fit_biases, ranking_metrics
from flaxline.ratings.recommend import top_items

logger = logging.getLogger(__name__)
ERRORS = ("rmse", "mae", "mse")


class RatingEvaluationParams(Settings):
    """The test-split report of the network and of the biases baseline, and the recommendations shown."""

    batch_size: PositiveInt = 4096
    k: PositiveInt = Field(10, description="the ranking metrics' cut-off (NDCG@k, precision@k, recall@k)")
    relevant_at: float = Field(4.0, description="a test rating at least this high is relevant to its user")
    baseline_regularization: tuple[PositiveFloat, PositiveFloat] = Field(
        (15.0, 10.0), description="the biases baseline's shrinkage of user and item biases"
    )
    recommend_users: NonNegativeInt = Field(5, description="top-N lists for this many of the most active users")
    recommend_for: tuple[int | str, ...] = Field(
        (),
        description="top-N lists for these users instead (ids as in the data; an unseen one gets the cold-start list)",
    )
    recommendations: PositiveInt = Field(10, description="items per list")


def _rating_inputs(encoding: dict) -> RatingInputs:
    inputs = Encoding.model_validate(encoding).inputs
    assert isinstance(inputs, RatingInputs)  # the rating kind's features stage wrote it
    return inputs


def evaluate_ratings(
    model: ModelArtifact,
    train_features: dict[str, np.ndarray],
    test_features: dict[str, np.ndarray],
    test_rows: pd.DataFrame,
    encoding: dict,
    parameters: RatingEvaluationParams,
) -> tuple[dict, dict, pd.DataFrame]:
    """The network's and the biases baseline's errors and ranking on the test split (ratings clipped to the scale),
    and each test rating with both predictions."""
    inputs = _rating_inputs(encoding)
    placement = resolve_placement("auto", "float32", False)
    outputs = predict(model.model, test_features, Batching(parameters.batch_size), placement.compute_dtype)
    predicted = np.clip(outputs["rating"], *inputs.scale)
    user_bias, item_bias = fit_biases(
        train_features["users"],
        train_features["items"],
        train_features["ratings"],
        (inputs.users, inputs.items),
        inputs.global_mean,
        parameters.baseline_regularization,
    )
    users, items = test_features["users"], test_features["items"]
    baseline = np.clip(inputs.global_mean + user_bias[users] + item_bias[items], *inputs.scale)
    cold = {
        "test_ratings": len(users),
        "of_unseen_users": int((users == 0).sum()),
        "of_unseen_items": int((items == 0).sum()),
    }
    ratings, who = test_features["ratings"], test_rows["user"].to_numpy()

    def report(prediction: np.ndarray, described: dict) -> dict:
        ranking = ranking_metrics(who, ratings, prediction, parameters.k, parameters.relevant_at)
        return error_metrics(ratings, prediction) | ranking | {"cold_start": cold, "model": described}

    model_metrics = report(predicted, model.config.model.model_dump(mode="json")) | {"device": placement.describe()}
    regularization = list(parameters.baseline_regularization)
    baseline_metrics = report(baseline, {"name": "biases", "regularization": regularization})
    predictions = test_rows.drop(columns=["split"], errors="ignore").assign(
        predicted=predicted, baseline_predicted=baseline
    )
    return model_metrics, baseline_metrics, predictions


def compare_rating_models(
    model_metrics: dict,
    baseline_metrics: dict,
    history: pd.DataFrame,
    test_predictions: pd.DataFrame,
    train_rows: pd.DataFrame,
) -> tuple[pd.DataFrame, Figure, Figure]:
    """The side-by-side table, the error by user activity and the learning curves."""
    rows = []
    for metrics in (model_metrics, baseline_metrics):
        rows.append(
            {
                "model": metrics["model"]["name"],
                **{key: value for key, value in metrics.items() if isinstance(value, float)},
            }
        )
        logger.info("test %s: RMSE %.4f, MAE %.4f", metrics["model"]["name"], metrics["rmse"], metrics["mae"])
    activity = test_predictions["user"].map(train_rows["user"].value_counts()).fillna(0).to_numpy()
    errors = {
        model_metrics["model"]["name"]: (test_predictions["predicted"] - test_predictions["rating"]).to_numpy(),
        "biases": (test_predictions["baseline_predicted"] - test_predictions["rating"]).to_numpy(),
    }
    return pd.DataFrame(rows), error_by_activity_figure(errors, activity), learning_curves_figure(history)


def recommend_items(
    model: ModelArtifact, id_maps: dict, train_rows: pd.DataFrame, encoding: dict, parameters: RatingEvaluationParams
) -> pd.DataFrame:
    """Top-N items for the chosen users (by default the most active of the training split), among the items each
    has not rated there."""
    inputs = _rating_inputs(encoding)
    chosen = [str(user) for user in parameters.recommend_for]  # ids are text (docs/data.md)
    users = chosen or train_rows["user"].value_counts().index[: parameters.recommend_users].tolist()
    user_ids = {name: position for position, name in enumerate(id_maps["users"], start=1)}
    item_ids = {name: position for position, name in enumerate(id_maps["items"], start=1)}
    titles = train_rows.drop_duplicates("item").set_index("item")["title"] if "title" in train_rows else None
    rated = train_rows.groupby("user")["item"].agg(lambda items: np.array([item_ids[item] for item in items]))
    lists = []
    for user in users:
        if user not in user_ids:
            logger.warning("user %r has no training ratings: recommended by the items' biases alone", user)
        best, scores = top_items(
            model.model,
            user_ids.get(user, 0),
            inputs.items,
            rated.get(user, np.zeros(0, np.int64)),
            parameters.recommendations,
            Batching(parameters.batch_size),
            inputs.scale,
        )
        for rank, (index, score) in enumerate(zip(best, scores, strict=True), start=1):
            item = id_maps["items"][index - 1]
            title = str(titles.get(item, "")) if titles is not None else ""
            lists.append({"user": user, "rank": rank, "item": item, "title": title, "predicted": float(score)})
    return pd.DataFrame(lists, columns=["user", "rank", "item", "title", "predicted"])
