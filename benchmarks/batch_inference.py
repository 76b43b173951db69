"""Batch inference against evaluation on the same test split: rows per second, the two side by side.

    uv run python benchmarks/batch_inference.py [--task tweets] [--repeats 5]

Needs a trained model of the task (`uv run kedro run`). Writes the test split's raw texts (as the raw file holds
them, before cleaning) to the inference stage's default input, then, alternating `--repeats` times:

- the evaluation stage's model pass: the model's forward over the test split's encoded arrays, as `evaluate_model`
  runs it (batches of 256, compiled before timing);
- the inference stage's path: the raw file read in chunks, cleaned, tokenized, scored and turned into the
  predictions table, as `<task>.inference` runs it (its `TextScorer`, compiled before timing);

and once each, the whole stages through `kedro run` (`<task>.evaluation`, `<task>.inference`: their wall time as
the stage timer logs it, so reading, the baseline and the report included). Prints one JSON line of medians and the
ratios (inference / evaluation).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import time
from pathlib import Path

import jax
import numpy as np
from flax import nnx
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from flaxline.datasets import DelimitedTextDataset
from flaxline.engine.batching import Batching
from flaxline.engine.inference import batched_outputs, make_forward
from flaxline.pipelines.inference.nodes import InferenceParams
from flaxline.pipelines.saved_model import TrainedOn
from flaxline.pipelines.text_processing.nodes import TextProcessingParams
from flaxline.serving.scoring import TextScorer

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "COLUMNS": "200"}


def stage_seconds(task: str, stage: str) -> float:
    command = ["uv", "run", "kedro", "run", "--pipelines", f"{task}.{stage}"]
    done = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, check=True)
    return float(re.search(rf"stage {task}\.{stage}: ([0-9.]+) s", done.stdout + done.stderr).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="tweets")
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    task = arguments.task

    bootstrap_project(ROOT)
    with KedroSession.create(project_path=ROOT) as session:
        context = session.load_context()
        catalog, parameters = context.catalog, context.params[task]
        model, rows = catalog.load(f"{task}.model"), catalog.load(f"{task}.test_rows")
        features = catalog.load(f"{task}.test_features")
        versions = [catalog.load(f"{task}.{name}_versions") for name in ("encoding", "tokenizer")]
        raw = catalog.load(f"{task}.raw")
    processing = TextProcessingParams.model_validate(parameters["data_processing"])
    inference = InferenceParams.model_validate(parameters["inference"])
    source = ROOT / "data/01_raw" / task / "inference_input.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    texts = (
        raw.set_index("source_line").loc[rows["row"], processing.columns.text] if "source_line" in raw else rows["text"]
    )
    texts.to_frame(processing.columns.text).to_csv(source, index=False, quoting=csv.QUOTE_ALL)
    reading = DelimitedTextDataset(filepath=str(source), chunk_rows=10000)

    graphdef, params, rest = jax.device_put(nnx.split(model.model.for_inference(), nnx.Param, ...))
    forward, batching = make_forward(graphdef), Batching(256, ("ids",), 8)

    def evaluation_pass() -> float:
        started = time.perf_counter()
        np.asarray(batched_outputs(forward, params, rest, features, batching))
        return len(rows) / (time.perf_counter() - started)

    saved = TrainedOn(*versions).saved_model(model, f"{task}.model")
    scorer = TextScorer(
        model, saved.tokenizer, saved.encoding, processing.columns.text, processing.policy, inference.batch_size
    )

    def inference_pass() -> float:
        started = time.perf_counter()
        scored = sum(sum(map(len, scorer.score(chunk))) for chunk in reading.load())
        return scored / (time.perf_counter() - started)

    evaluation_pass(), inference_pass()  # compile
    evaluation, scoring = [], []
    for _ in range(arguments.repeats):
        evaluation.append(evaluation_pass())
        scoring.append(inference_pass())
    stages = {stage: len(rows) / stage_seconds(task, stage) for stage in ("evaluation", "inference")}
    result = {
        "task": task,
        "test_rows": len(rows),
        "evaluation_forward_rows_per_s": round(statistics.median(evaluation)),
        "inference_path_rows_per_s": round(statistics.median(scoring)),
        "path_ratio": round(statistics.median(scoring) / statistics.median(evaluation), 3),
        "evaluation_stage_rows_per_s": round(stages["evaluation"]),
        "inference_stage_rows_per_s": round(stages["inference"]),
        "stage_ratio": round(stages["inference"] / stages["evaluation"], 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
