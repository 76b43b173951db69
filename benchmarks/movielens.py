"""Rating prediction on MovieLens through the project's engine, in the fields the Surprise peer prints.

    uv run python benchmarks/movielens.py --data-dir ../shared/datasets/movielens [--models biased_mf neural_cf]
    ../shared/bench/compare.py --peer surprise-svd -- \\
        uv run python benchmarks/movielens.py --data-dir ../shared/datasets/movielens --models biased_mf

DIR holds GroupLens' ratings.csv (a `split` column is used when present, as in the peer's protocol)
and optionally movies.csv. Each model (benchmarks/movielens_models.yml, over the `movielens` task's
training settings) is trained with early stopping on the validation split and tested on test:
RMSE and MAE of ratings clipped to the scale, NDCG@10 per user with the true ratings as gains.
Prints one JSON line per model: train_ex_per_s (training ratings × epochs run / training seconds,
compilation included), infer_ex_per_s (test predictions per second, in batches, after a warm-up),
test_rmse, test_mae, test_ndcg10, epochs, wall_s.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import yaml

from flaxline.config_loader import TaskConfigLoader
from flaxline.engine.batching import Batching
from flaxline.engine.inference import predict
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.inputs import Encoding
from flaxline.kinds import merged
from flaxline.pipelines.rating_features.nodes import fit_rating_ids
from flaxline.pipelines.rating_processing.nodes import RatingProcessingParams
from flaxline.ratings.grouplens import read_grouplens
from flaxline.ratings.ids import encode_ratings
from flaxline.ratings.metrics import error_metrics, ranking_metrics
from flaxline.ratings.rows import clean_ratings
from flaxline.ratings.split import predefined_rating_split, random_split
from flaxline.settings import CONFIG_LOADER_ARGS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--models", nargs="*", help="entries of movielens_models.yml (default: all)")
    args = parser.parse_args()

    task = TaskConfigLoader(conf_source=str(ROOT / "conf"), **CONFIG_LOADER_ARGS)["parameters"]["movielens"]
    entries = yaml.safe_load((ROOT / "benchmarks" / "movielens_models.yml").read_text())
    processing = RatingProcessingParams.model_validate(task["data_processing"])
    raw = read_grouplens(args.data_dir)
    clean = clean_ratings(raw, processing.columns, processing.scale, str(args.data_dir)).kept
    parts = predefined_rating_split(clean) if "split" in clean else random_split(clean, 0.1, 0.1, 0)
    id_maps, encoding = fit_rating_ids(parts["train"], processing)
    described = Encoding.model_validate(encoding)
    arrays = {name: encode_ratings(part, id_maps) for name, part in parts.items()}
    test, scale = arrays["test"], described.inputs.scale  # type: ignore[union-attr]
    for name in args.models or list(entries):
        started = time.perf_counter()
        spec = TrainingSpec.model_validate(merged(task["training"], entries[name] or {}))
        trained = train(spec, TrainingData(arrays["train"], arrays["validation"]), described.inputs, described.outputs)
        train_seconds = sum(record["train_seconds"] for record in trained.history)
        batching = Batching(4096)
        predict(trained.model, test, batching)  # compiles
        passes, timer = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - timer) < 2.0 or passes < 2:
            predicted = np.clip(predict(trained.model, test, batching)["rating"], *scale)
            passes += 1
        errors = error_metrics(test["ratings"], predicted)
        ranking = ranking_metrics(parts["test"]["user"].to_numpy(), test["ratings"], predicted, 10, 4.0)
        line = {
            "model": name,
            "train_ex_per_s": round(len(arrays["train"]["ratings"]) * len(trained.history) / train_seconds, 1),
            "infer_ex_per_s": round(len(predicted) * passes / elapsed, 1),
            "test_rmse": round(errors["rmse"], 4),
            "test_mae": round(errors["mae"], 4),
            "test_ndcg10": round(ranking["ndcg_at_10"], 4),
            "epochs": len(trained.history),
            "wall_s": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
