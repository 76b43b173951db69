"""Every model of the zoo trained on SST-2 with its settings from benchmarks/sst2_zoo.yml.

    uv run python benchmarks/sst2_zoo.py --data-dir ../shared/datasets/sst2 [--models lstm cnn] [--seed 1]
        [--average-decay 0.999]

Tokenization follows the `sst2` task's features parameters, with an entry's own `features` over
them. Each model is trained by the project's engine (`flaxline.engine.train.train`) with early
stopping on dev.tsv and evaluated on test.tsv (the GLUE dev set); the TF-IDF + logistic-regression
baseline is trained on the same train.tsv. Prints one JSON line per model (test accuracy,
macro-F1, epochs run, wall seconds, tokenizer fitting included) and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import yaml

from flaxline.config_loader import TaskConfigLoader
from flaxline.engine.batching import Batching
from flaxline.engine.inference import predict
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.evaluation.baselines import TfidfLogisticRegressionSpec, fit_baseline
from flaxline.evaluation.metrics import classification_metrics
from flaxline.kinds import merged
from flaxline.settings import CONFIG_LOADER_ARGS
from flaxline.text.tokenizer import TokenizerSpec, fit_encoding
from sst2_data import encode_sst2, read_sst2

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["0", "1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--models", nargs="*", help="a subset of the zoo (default: all)")
    parser.add_argument("--average-decay", type=float, help="train with parameter averaging (loop.average_decay)")
    parser.add_argument("--seed", type=int, help="initialisation and data-order seed instead of each entry's loop.seed")
    args = parser.parse_args()

    sst2 = TaskConfigLoader(conf_source=str(ROOT / "conf"), **CONFIG_LOADER_ARGS)["parameters"]["sst2"]
    zoo = {
        name: entry
        for name, entry in yaml.safe_load((ROOT / "benchmarks" / "sst2_zoo.yml").read_text()).items()
        if not name.startswith("_")
    }
    splits = read_sst2(args.data_dir)
    texts = {name: texts for name, (texts, _) in splits.items()}

    rows = []
    started = time.perf_counter()
    baseline_spec = TfidfLogisticRegressionSpec.model_validate(
        merged(sst2["evaluation"]["baseline"], {"name": "tfidf_logistic_regression"})
    )
    baseline = fit_baseline(baseline_spec, pd.DataFrame({"text": texts["train"]}), splits["train"][1])
    metrics = classification_metrics(
        splits["test"][1], baseline.predict(pd.DataFrame({"text": texts["test"]})), CLASSES
    )
    rows.append(
        {
            "model": baseline_spec.name,
            "test_acc": metrics["accuracy"],
            "macro_f1": metrics["macro_f1"],
            "epochs": None,
            "wall_s": time.perf_counter() - started,
        }
    )
    print(json.dumps(rows[-1]), flush=True)

    for name in args.models or list(zoo):
        entry = dict(zoo[name])
        started = time.perf_counter()
        features = TokenizerSpec.model_validate(merged(sst2["features"], entry.pop("features", {})))
        tokenizer, encoding = fit_encoding(texts["train"], features, len(CLASSES))
        data = encode_sst2(tokenizer, splits, encoding.max_length)
        loop = {
            key: value
            for key, value in (("average_decay", args.average_decay), ("seed", args.seed))
            if value is not None
        }
        spec = TrainingSpec.model_validate(merged(entry, {"loop": loop}))
        data_arrays = TrainingData(data["train"], data["validation"], encoding.token_arrays)
        trained = train(spec, data_arrays, encoding.inputs, encoding.outputs)
        model, history = trained.model, trained.history
        logits = predict(model, data["test"], Batching(256, encoding.token_arrays))
        metrics = classification_metrics(splits["test"][1], logits.argmax(axis=1), CLASSES)
        rows.append(
            {
                "model": name,
                "test_acc": metrics["accuracy"],
                "macro_f1": metrics["macro_f1"],
                "epochs": len(history),
                "wall_s": time.perf_counter() - started,
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    print("\n| model | test accuracy | macro-F1 | epochs | wall |\n|---|---|---|---|---|")
    for row in rows:
        epochs = row["epochs"] or "–"
        print(f"| {row['model']} | {row['test_acc']:.4f} | {row['macro_f1']:.4f} | {epochs} | {row['wall_s']:.0f} s |")


if __name__ == "__main__":
    main()
