"""Every model of the zoo trained on SST-2 with its settings from benchmarks/sst2_zoo.yml.

    uv run python benchmarks/sst2_zoo.py --data-dir ../shared/datasets/sst2 [--models lstm cnn] [--seed 1]
        [--average-decay 0.999] [--fuse 3]

Tokenization follows the `sst2` task's features parameters, with an entry's own `features` over
them. Each model is trained by the project's engine (`flaxline.engine.train.train`) with early
stopping on dev.tsv and evaluated on test.tsv (the GLUE dev set); the TF-IDF + logistic-regression
baseline is trained on the same train.tsv. Prints one JSON line per model (test accuracy and
macro-F1 with their 95 % bootstrap intervals, epochs run, wall seconds, tokenizer fitting included)
and a Markdown table. Then the ``--fuse`` networks of best dev accuracy are fused (the mean of their
temperature-scaled probabilities, each temperature fitted on dev, as the `<task>.fusion` stage does)
and the fusion is compared with its best member on the same test rows (paired bootstrap, McNemar).
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
from flaxline.evaluation.calibration import fit_temperature
from flaxline.evaluation.fusion import fused_probabilities
from flaxline.evaluation.uncertainty import UncertaintySpec, paired_comparison, reported_metrics
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
    parser.add_argument("--fuse", type=int, default=3, help="fuse this many networks of best dev accuracy (0: none)")
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
    labels, uncertainty = splits["test"][1], UncertaintySpec()
    baseline_predicted = baseline.predict(pd.DataFrame({"text": texts["test"]}))
    rows.append(result(baseline_spec.name, labels, baseline_predicted, uncertainty, None, started))
    print(json.dumps(rows[-1]), flush=True)
    networks = {}

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
        batching = Batching(256, encoding.token_arrays)
        dev_logits = predict(model, data["validation"], batching)
        logits = predict(model, data["test"], batching)
        dev_acc = float((dev_logits.argmax(axis=1) == data["validation"]["labels"]).mean())
        row = result(name, labels, logits.argmax(axis=1), uncertainty, len(history), started)
        rows.append(row | {"dev_acc": dev_acc})
        print(json.dumps(rows[-1]), flush=True)
        temperature = fit_temperature(dev_logits, data["validation"]["labels"])
        networks[name] = {"logits": logits, "temperature": temperature, "dev_acc": dev_acc}

    print("\n| model | test accuracy [95 % interval] | macro-F1 [95 % interval] | epochs | wall |")
    print("|---|---|---|---|---|")
    for row in rows:
        epochs = row["epochs"] or "–"
        accuracy, f1 = (interval(row, metric) for metric in ("test_acc", "macro_f1"))
        print(f"| {row['model']} | {accuracy} | {f1} | {epochs} | {row['wall_s']:.0f} s |")
    if args.fuse >= 2 and len(networks) >= args.fuse:
        fuse(networks, labels, args.fuse, uncertainty)


def interval(row: dict, metric: str) -> str:
    return f"{row[metric]:.4f} [{row[f'{metric}_low']:.4f}, {row[f'{metric}_high']:.4f}]"


def result(name: str, labels, predicted, uncertainty: UncertaintySpec, epochs: int | None, started: float) -> dict:
    """A model's test row: accuracy and macro-F1 with their intervals, epochs and wall seconds."""
    metrics = reported_metrics(labels, predicted, CLASSES, uncertainty)
    intervals = metrics["confidence_intervals"]
    return {
        "model": name,
        "test_acc": metrics["accuracy"],
        "test_acc_low": intervals["accuracy"][0],
        "test_acc_high": intervals["accuracy"][1],
        "macro_f1": metrics["macro_f1"],
        "macro_f1_low": intervals["macro_f1"][0],
        "macro_f1_high": intervals["macro_f1"][1],
        "epochs": epochs,
        "wall_s": time.perf_counter() - started,
    }


def fuse(networks: dict[str, dict], labels, count: int, uncertainty: UncertaintySpec) -> None:
    """The ``count`` networks of best dev accuracy fused, and the fusion against its best member on test."""
    chosen = sorted(networks, key=lambda name: networks[name]["dev_acc"], reverse=True)[:count]
    members = [networks[name] for name in chosen]
    probabilities = fused_probabilities(
        [m["logits"] for m in members], [m["temperature"] for m in members], "probabilities"
    )
    fused = result(f"fusion of {', '.join(chosen)}", labels, probabilities.argmax(axis=1), uncertainty, None, 0.0)
    best = networks[chosen[0]]["logits"].argmax(axis=1)
    gain = paired_comparison(labels, probabilities.argmax(axis=1), best, CLASSES, uncertainty)
    accuracy = gain["difference"]["accuracy"]
    fused.pop("wall_s")
    fused |= {
        "best_member_by_dev": chosen[0],
        "gain_accuracy": accuracy["estimate"],
        "gain_accuracy_interval": accuracy["interval"],
        "gain_accuracy_p_value": accuracy["p_value"],
        "mcnemar_p_value": gain["mcnemar"]["p_value"],
    }
    print(json.dumps(fused), flush=True)


if __name__ == "__main__":
    main()
