"""Times a task's whole `kedro run` and checks that two runs with the same seed agree.

    uv run python benchmarks/default_run.py [--runs 2] [--task digits]

Runs `uv run kedro run` (the default task, tweets) or `uv run kedro run --pipelines TASK` in this
checkout `--runs` times and prints one JSON line per run (wall seconds, seconds per stage, test
accuracy and macro-F1 of the network and the baseline, SHA-256 of the model file), then a summary
line with the median wall time and whether every run produced identical metrics and
byte-identical model files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"stage (\S+): ([0-9.]+) s")


def newest_version(path: Path) -> Path:
    return max(path.iterdir()) / path.name


def one_run(task: str) -> dict:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "COLUMNS": "200"}
    command = ["uv", "run", "kedro", "run", *([] if task == "tweets" else ["--pipelines", task])]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"kedro run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    reporting = ROOT / "data" / "08_reporting" / task
    network = json.loads(newest_version(reporting / "model_metrics.json").read_text())
    baseline = json.loads(newest_version(reporting / "baseline_metrics.json").read_text())
    model = newest_version(ROOT / "data" / "06_models" / task / "model.safetensors")
    return {
        "wall_s": round(wall, 1),
        "stages_s": {name: float(seconds) for name, seconds in STAGE_LINE.findall(done.stdout + done.stderr)},
        "network": {"accuracy": network["accuracy"], "macro_f1": network["macro_f1"]},
        "baseline": {"accuracy": baseline["accuracy"], "macro_f1": baseline["macro_f1"]},
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "report": network["report"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--task", default="tweets", help="a declared task (default: tweets, the default run)")
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        run = one_run(args.task)
        runs.append(run)
        print(json.dumps({"run": index + 1, **{k: v for k, v in run.items() if k != "report"}}), flush=True)
    summary = {
        "task": args.task,
        "median_wall_s": statistics.median(run["wall_s"] for run in runs),
        "identical_metrics": all(run["report"] == runs[0]["report"] for run in runs),
        "identical_model_files": len({run["model_sha256"] for run in runs}) == 1,
        "network_minus_baseline_macro_f1": round(runs[0]["network"]["macro_f1"] - runs[0]["baseline"]["macro_f1"], 4),
        "cpu": f"{os.cpu_count()} cores",
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
