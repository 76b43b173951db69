"""Rating prediction's core: GroupLens reading, cleaning, splits, id maps, metrics, the biases baseline and models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flaxline.engine.batching import Batching
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.errors import InputError
from flaxline.inputs import RatingInputs
from flaxline.models import ModelConfig, build_model
from flaxline.ratings.grouplens import download_movielens, read_grouplens
from flaxline.ratings.ids import encode_ratings, fit_id_maps
from flaxline.ratings.metrics import error_metrics, fit_biases, ranking_metrics
from flaxline.ratings.recommend import top_items
from flaxline.ratings.rows import RatingColumns, clean_ratings
from flaxline.ratings.split import predefined_rating_split, random_split, split_by_time

COLUMNS = RatingColumns()
HEADER = "userId,movieId,rating,timestamp\n"


def write_grouplens(
    folder,
    ratings: str,
    movies: str | None = "movieId,title,genres\n1,Toy Story (1995),Animation\n2,Heat (1995),Action\n",
):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.csv").write_text(HEADER + ratings)
    if movies is not None:
        (folder / "movies.csv").write_text(movies)
    return folder


def cleaned(tmp_path, ratings: str, scale=(0.5, 5.0)):
    raw = read_grouplens(write_grouplens(tmp_path / "ml", ratings))
    return clean_ratings(raw, COLUMNS, scale, "ratings.csv")


def test_titles_are_joined_to_the_ratings_and_movies_are_optional(tmp_path):
    raw = read_grouplens(write_grouplens(tmp_path / "a", "1,1,4.0,10\n1,3,2.5,11\n"))
    assert raw["title"].tolist() == ["Toy Story (1995)", ""] and raw.attrs["source"].endswith("ratings.csv")
    assert "title" not in read_grouplens(write_grouplens(tmp_path / "b", "1,1,4.0,10\n", movies=None))
    with pytest.raises(InputError, match=r"movies\.csv: column 'title' is missing"):
        read_grouplens(write_grouplens(tmp_path / "c", "1,1,4.0,10\n", movies="movieId,name\n1,x\n"))


def test_offline_download_is_one_clear_error(tmp_path):
    with pytest.raises(
        InputError, match=r"ratings\.csv is missing and http://127\.0\.0\.1:9/ml\.zip could not be downloaded .*by hand"
    ):
        download_movielens(tmp_path, url="http://127.0.0.1:9/ml.zip", timeout=5)


def test_each_rule_rejects_with_its_reason_and_the_latest_duplicate_wins(tmp_path):
    result = cleaned(
        tmp_path,
        "1,1,4.0,10\n,1,3.0,11\n1,,3.0,12\n1,2,good,13\n1,2,7,14\n2,1,3.5,later\n2,2,3.0,20\n2,2,4.0,30\n2,2,5.0,25\n3,1,2.0,\n1,1,oops\n",
    )
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert reasons == {
        3: "missing_user",
        4: "missing_item",
        5: "invalid_rating",
        6: "rating_out_of_scale",
        7: "invalid_timestamp",
        8: "duplicate",
        10: "duplicate",
        12: "parse_error",
    }
    kept = result.kept.set_index("row")
    assert kept.loc[9, "rating"] == 4.0  # of (2, 2) the latest timestamp (30) wins
    assert np.isnan(kept.loc[11, "timestamp"])  # an empty timestamp is kept as missing
    details = dict(zip(result.rejected["row"], result.rejected["detail"], strict=True))
    assert details[8] == "superseded by row 9 (the latest)" and details[6] == "rating 7 outside [0.5, 5]"
    assert result.report["raw_rows"] == len(result.kept) + len(result.rejected) == 11


def test_a_scale_every_rating_contradicts_is_one_line(tmp_path):
    with pytest.raises(
        InputError,
        match=r"^ratings\.csv: column 'rating': every rating lies outside the scale \[6, 10\] "
        r"\(they span 1 to 4\.5\); set data_processing\.scale$",
    ):
        cleaned(tmp_path, "1,1,1,10\n1,2,4.5,11\n", scale=(6.0, 10.0))


def ratings_frame(rows: int, users: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "row": np.arange(rows),
            "user": rng.integers(0, users, rows).astype(str),
            "item": rng.integers(0, 40, rows).astype(str),
            "rating": rng.integers(1, 6, rows).astype(float),
            "timestamp": rng.permutation(rows).astype(float),
        }
    )


def test_splits_random_by_time_and_predefined():
    frame = ratings_frame(1000, 20)
    parts = random_split(frame, 0.1, 0.2, seed=3)
    assert sum(map(len, parts.values())) == 1000 and 150 < len(parts["test"]) < 250
    assert random_split(frame, 0.1, 0.2, 3)["test"]["row"].tolist() == parts["test"]["row"].tolist()
    timed = split_by_time(frame, 0.1, 0.2)
    for user in frame["user"].unique():
        train_latest = timed["train"].loc[timed["train"]["user"] == user, "timestamp"].max()
        assert (
            train_latest < timed["test"].loc[timed["test"]["user"] == user, "timestamp"].min()
        )  # the past predicts the future
    with pytest.raises(InputError, match="^column 'split': split 'validation' has no ratings$"):
        predefined_rating_split(frame.assign(split=["train", "test"] * 500))


DAY = 86_400


def test_id_maps_come_from_train_and_unseen_ids_are_zero():
    train_rows = pd.DataFrame(
        {"user": ["b", "a", "a"], "item": ["x", "y", "x"], "rating": [1.0, 2.0, 3.0], "timestamp": [DAY, 5, np.nan]}
    )
    maps = fit_id_maps(train_rows)
    assert maps == {"users": ["a", "b"], "items": ["x", "y"], "user_days": ["a@0", "b@1"]}
    rows = pd.DataFrame(
        {
            "user": ["a", "new", "a", "b", "b"],
            "item": ["z", "y", "x", "x", "y"],
            "rating": [3.0, 4.0, 1.0, 2.0, 5.0],
            "timestamp": [DAY - 1, 0, np.nan, 2 * DAY - 1, 2 * DAY],  # a's day 0, unseen, none, b's day 1, unseen
        }
    )
    encoded = encode_ratings(rows, maps)
    assert (
        encoded["users"].tolist() == [1, 0, 1, 2, 2]
        and encoded["items"].tolist() == [0, 2, 1, 1, 2]
        and encoded["user_days"].tolist() == [1, 0, 0, 2, 0]
        and encoded["ratings"].dtype == np.float32
    )


def test_metrics_match_a_hand_count():
    assert error_metrics(np.array([1.0, 3.0]), np.array([2.0, 3.0])) == {
        "rmse": pytest.approx(np.sqrt(0.5)),
        "mae": 0.5,
        "mse": 0.5,
    }
    users, ratings = np.array(["a", "a", "a", "b"]), np.array([5.0, 3.0, 4.0, 2.0])
    metrics = ranking_metrics(users, ratings, np.array([1.0, 3.0, 2.0, 1.0]), k=2, relevant_at=4.0)
    discounts = 1 / np.log2([2, 3])
    assert metrics["ndcg_at_2"] == pytest.approx(
        ((3 * discounts[0] + 4 * discounts[1]) / (5 * discounts[0] + 4 * discounts[1]) + 1) / 2
    )
    assert metrics["precision_at_2"] == pytest.approx((0.5 + 0.0) / 2) and metrics["recall_at_2"] == pytest.approx(0.5)


def test_the_biases_baseline_recovers_user_and_item_effects():
    rng = np.random.default_rng(0)
    users, items = rng.integers(1, 31, 5000), rng.integers(1, 41, 5000)
    true_user, true_item = rng.normal(0, 0.5, 31), rng.normal(0, 0.5, 41)
    ratings = 3.5 + true_user[users] + true_item[items] + rng.normal(0, 0.1, 5000)
    user_bias, item_bias = fit_biases(users, items, ratings, (31, 41), 3.5, (1.0, 1.0))
    assert np.corrcoef(user_bias[1:], true_user[1:])[0, 1] > 0.99 and user_bias[0] == item_bias[0] == 0.0


def low_rank(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    user_factors, item_factors = (
        np.random.default_rng(0).normal(0, 1, (51, 3)),
        np.random.default_rng(1).normal(0, 1, (61, 3)),
    )
    users, items = rng.integers(1, 51, rows).astype(np.int32), rng.integers(1, 61, rows).astype(np.int32)
    ratings = np.clip(3.0 + 0.6 * np.sum(user_factors[users] * item_factors[items], axis=1), 0.5, 5.0)
    return {"users": users, "items": items, "user_days": np.zeros_like(users), "ratings": ratings.astype(np.float32)}


INPUTS = RatingInputs(users=51, items=61, global_mean=3.0, scale=(0.5, 5.0))


@pytest.mark.parametrize(
    "model",
    [
        {"name": "biased_mf", "factors": 8, "l2": 0.001},
        {"name": "neural_cf", "embed_dim": 8, "mlp": [16], "factors": 8, "l2": 0.001},
        {"name": "ensemble", "size": 2, "member": {"name": "biased_mf", "factors": 8, "l2": 0.001, "shrinkage": 1.0}},
    ],
)
def test_rating_models_learn_a_low_rank_problem(model):
    spec = TrainingSpec.model_validate(
        {
            "model": model,
            "loss": {"name": "mean_squared_error"},
            "optimizer": {"learning_rate": 0.01},
            "loop": {"epochs": 30, "batch_size": 128, "patience": None},
        }
    )
    trained = train(spec, TrainingData(low_rank(4000, 0), low_rank(500, 1)), INPUTS, 1)
    history = trained.history
    assert history[-1]["validation_loss"] < 0.5 * history[0]["validation_loss"]
    assert list(history[0])[:5] == [
        "epoch",
        "train_loss",
        "train_absolute_error",
        "validation_loss",
        "validation_absolute_error",
    ]


def test_an_unseen_user_gets_the_global_mean_and_the_items_bias():
    model = build_model(ModelConfig.model_validate({"model": {"name": "biased_mf"}, "inputs": INPUTS, "outputs": 1}))
    model.biases.item.table.embedding[...] = model.biases.item.table.embedding[...].at[5, 0].set(0.7)
    outputs = model({"users": np.array([0, 0]), "items": np.array([5, 0]), "user_days": np.array([0, 0])})
    np.testing.assert_allclose(outputs["rating"], [3.7, 3.0], rtol=1e-6)


def test_a_rating_ensemble_predicts_its_members_mean_rating():
    member = {"name": "neural_cf", "embed_dim": 4, "mlp": [8], "factors": 4}
    config = {"model": {"name": "ensemble", "size": 2, "member": member}, "inputs": INPUTS, "outputs": 1}
    model = build_model(ModelConfig.model_validate(config))
    batch = {name: values[:5] for name, values in low_rank(5, 0).items()}
    model.eval()
    members = [one(batch)["rating"] for one in model.members]
    assert not np.allclose(*members)  # each member from its own initialisation
    np.testing.assert_allclose(model(batch)["rating"], np.mean(members, axis=0), rtol=1e-6)


def sessions(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Ratings of 20 users over 10 days each: a user-day's ratings share its offset, the items a bias."""
    rng = np.random.default_rng(seed)
    offsets, item_bias = np.random.default_rng(0).normal(0, 0.8, 201), np.random.default_rng(1).normal(0, 0.5, 31)
    user_days, items = rng.integers(1, 201, rows).astype(np.int32), rng.integers(1, 31, rows).astype(np.int32)
    ratings = np.clip(3.0 + offsets[user_days] + item_bias[items] + rng.normal(0, 0.1, rows), 0.5, 5.0)
    return {"users": (user_days - 1) // 10 + 1, "items": items, "user_days": user_days, "ratings": ratings}


@pytest.mark.parametrize("model", ["biased_mf", "neural_cf"])
def test_the_user_day_bias_learns_what_a_day_shares(model):
    inputs = RatingInputs(users=21, items=31, user_days=201, global_mean=3.0, scale=(0.5, 5.0))
    losses = []
    for day_bias in (False, True):
        spec = TrainingSpec.model_validate(
            {
                "model": {"name": model, "factors": 4, "l2": 0.001, "day_bias": day_bias},
                "loss": {"name": "mean_squared_error"},
                "optimizer": {"learning_rate": 0.03},
                "loop": {"epochs": 15, "batch_size": 128, "patience": None},
            }
        )
        trained = train(spec, TrainingData(sessions(4000, 0), sessions(1000, 1)), inputs, 1)
        losses.append(trained.history[-1]["validation_loss"])
    assert losses[1] < 0.3 * losses[0]  # the offsets (variance 0.64) are most of the error without it


def test_top_items_leave_out_what_was_rated_and_rank_an_unseen_user_by_the_items_biases():
    model = build_model(ModelConfig.model_validate({"model": {"name": "biased_mf"}, "inputs": INPUTS, "outputs": 1}))
    item_bias = np.linspace(0.0, 1.0, INPUTS.items)  # item 60 best, then 59 ...
    model.biases.item.table.embedding[...] = item_bias[:, None].astype(np.float32)
    best, scores = top_items(model, 0, INPUTS.items, np.array([60, 58]), 3, Batching(16), INPUTS.scale)
    assert best.tolist() == [59, 57, 56]
    np.testing.assert_allclose(scores, 3.0 + item_bias[[59, 57, 56]], rtol=1e-6)
