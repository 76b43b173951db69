"""Every model of the zoo trained on SST-2 with its defaults from conf/base/parameters_zoo.yml.

    uv run python benchmarks/sst2_zoo.py --data-dir ../shared/datasets/sst2 [--models lstm cnn] [--average-decay 0.999] [--seed 1]

Tokenization follows the `sst2` task's features parameters, with an entry's own `features` over
them. Each model is trained by the project's engine with early stopping on dev.tsv and evaluated
on test.tsv (the GLUE dev set); the TF-IDF + logistic-regression baseline is trained on the same
train.tsv. Prints one JSON line per model (test accuracy, macro-F1, epochs run, wall seconds,
tokenizer fitting included) and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
from kedro.config import OmegaConfigLoader
from sst2_data import encode_sst2, read_sst2

from flaxline.engine.batching import steps_per_epoch
from flaxline.engine.optim import build_optimizer
from flaxline.engine.trainer import TrainingConfig, fit, predict_logits
from flaxline.evaluation.baseline import fit_tfidf_logistic_regression
from flaxline.evaluation.metrics import classification_metrics
from flaxline.models import build_model
from flaxline.settings import CONFIG_LOADER_ARGS
from flaxline.pipelines.features.nodes import fit_text_tokenizer
from flaxline.text.tokenizer import vocabulary

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["0", "1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--models", nargs="*", help="a subset of the zoo (default: all)")
    parser.add_argument("--average-decay", type=float, help="train with parameter averaging (loop.average_decay)")
    parser.add_argument("--seed", type=int, help="initialisation and data-order seed instead of each entry's loop.seed")
    args = parser.parse_args()

    parameters = OmegaConfigLoader(conf_source=str(ROOT / "conf"), **CONFIG_LOADER_ARGS)["parameters"]
    zoo = parameters["zoo"]
    splits = read_sst2(args.data_dir)
    texts = {name: texts for name, (texts, _) in splits.items()}
    labels = {name: labels for name, (_, labels) in splits.items()}

    def encoded(features: dict) -> tuple[list[str], dict]:
        """The vocabulary and the splits encoded with a tokenizer fitted on train.tsv under ``features``."""
        tokenizer, encoding = fit_text_tokenizer(pd.DataFrame({"text": texts["train"]}), features)
        return vocabulary(tokenizer), encode_sst2(tokenizer, splits, encoding["max_length"])

    rows = []
    started = time.perf_counter()
    baseline = fit_tfidf_logistic_regression(texts["train"], labels["train"], **parameters["sst2"]["evaluation"]["baseline"])
    metrics = classification_metrics(labels["test"], baseline.predict(texts["test"]), CLASSES)
    rows.append({"model": "tfidf_logistic_regression", "test_acc": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "epochs": None, "wall_s": time.perf_counter() - started})
    print(json.dumps(rows[-1]), flush=True)

    for name in args.models or list(zoo):
        spec = zoo[name]
        started = time.perf_counter()
        tokens, data = encoded({**parameters["sst2"]["features"], **spec.get("features", {})})
        overrides = {} if args.average_decay is None else {"average_decay": args.average_decay}
        if args.seed is not None:
            overrides["seed"] = args.seed
        config = TrainingConfig(**{**spec["loop"], **overrides})
        model = build_model(vocab_size=len(tokens), num_classes=2, seed=config.seed, vocabulary=tokens, **spec["model"])
        steps = steps_per_epoch(len(data["train"]), config.batch_size, config.bucket_window_batches)
        history = fit(model, build_optimizer(total_steps=config.epochs * steps, **spec["optimizer"]), data["train"], data["validation"], config)
        logits = predict_logits(model, data["test"].ids, data["test"].lengths)
        metrics = classification_metrics(labels["test"], logits.argmax(axis=1), CLASSES)
        rows.append({"model": name, "test_acc": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "epochs": len(history), "wall_s": time.perf_counter() - started})
        print(json.dumps(rows[-1]), flush=True)

    print("\n| model | test accuracy | macro-F1 | epochs | wall |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['model']} | {row['test_acc']:.4f} | {row['macro_f1']:.4f} | {row['epochs'] or '–'} | {row['wall_s']:.0f} s |")


if __name__ == "__main__":
    main()
