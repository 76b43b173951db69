"""A task's compression stage, and its report as ratios against the model it compressed.

    uv run python benchmarks/compression.py [--task tweets] [--params KEY=VALUE,...]

Needs a trained model of the task (`uv run kedro run --pipelines TASK`). Runs `uv run kedro run --pipelines
TASK.compression` (any `--params` passed on), then prints one JSON line per model of the new
`<task>.compression_report`: its own figures, and against the original: size on disk (original bytes / bytes),
accuracy and macro-F1 change in points, batch-64 throughput and batch-1 latency as ratios. All of a report's
models are measured in one process, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="tweets")
    parser.add_argument("--params", default=None, help="passed to kedro run --params")
    arguments = parser.parse_args()
    command = ["uv", "run", "kedro", "run", "--pipelines", f"{arguments.task}.compression"]
    command += ["--params", arguments.params] if arguments.params else []
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"kedro run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    folder = ROOT / "data/08_reporting" / arguments.task / "compression_report.csv"
    report = pd.read_csv(max(folder.iterdir()) / folder.name)
    original = report.iloc[0]
    for row in report.itertuples(index=False):
        print(
            json.dumps(
                {
                    "task": arguments.task,
                    "model": row.model,
                    "bytes": int(row.bytes),
                    "nonzero_parameters": int(row.nonzero_parameters),
                    "accuracy": round(row.accuracy, 4),
                    "macro_f1": round(row.macro_f1, 4),
                    "latency_ms_batch1": round(row.latency_ms_batch1, 3),
                    "examples_per_s_batch64": round(row.examples_per_s_batch64, 1),
                    "smaller": round(original.bytes / row.bytes, 2),
                    "accuracy_points": round(100 * (row.accuracy - original.accuracy), 2),
                    "macro_f1_points": round(100 * (row.macro_f1 - original.macro_f1), 2),
                    "throughput_ratio": round(row.examples_per_s_batch64 / original.examples_per_s_batch64, 2),
                    "latency_ratio": round(row.latency_ms_batch1 / original.latency_ms_batch1, 2),
                    "stage_seconds": round(time.perf_counter() - started),
                }
            )
        )


if __name__ == "__main__":
    main()
