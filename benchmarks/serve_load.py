"""Load on `flaxline serve`: concurrent clients on 127.0.0.1, latency and throughput, answers checked against the
batch inference pipeline.

    uv run python benchmarks/serve_load.py [--task tweets] [--requests 2000] [--clients 8] [--texts-per-request 1]

Needs a trained model of the task (`uv run kedro run`). Writes the task's test texts to the inference stage's
default input (data/01_raw/<task>/inference_input.csv) and runs `<task>.inference` on them; starts `flaxline serve`
on a free port; sends 50 warm-up requests, then `--requests` requests of test texts from `--clients` threads (each
request waits at most 30 s, the whole load at most 600 s); stops the server by its PID. Prints one JSON line: p50,
p90 and p99 latency in ms, requests/s, errors, and how many answers differ from the batch pipeline's (class, or a
probability by more than 1e-5).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}


def newest(path: Path) -> Path:
    return max(path.iterdir()) / path.name


def batch_predictions(task: str, texts: list[str]) -> pd.DataFrame:
    """The batch inference pipeline's predictions of ``texts``."""
    source = ROOT / "data/01_raw" / task / "inference_input.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": range(len(texts)), "text": texts}).to_csv(source, index=False, quoting=csv.QUOTE_ALL)
    command = ["uv", "run", "kedro", "run", "--pipelines", f"{task}.inference"]
    subprocess.run(command, cwd=ROOT, env=ENV, check=True, capture_output=True)
    return pd.read_parquet(newest(ROOT / "data/07_model_output" / task / "inference_predictions.parquet"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def predict(url: str, texts: list[str]) -> tuple[float, int, dict | None]:
    request = urllib.request.Request(url, json.dumps(texts).encode(), {"content-type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = json.loads(answer.read())
            return time.perf_counter() - started, answer.status, body
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return time.perf_counter() - started, getattr(error, "code", 0), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="tweets")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--texts-per-request", type=int, default=1)
    arguments = parser.parse_args()
    rows = pd.read_parquet(ROOT / "data/03_primary" / arguments.task / "test.parquet")
    texts = rows["text"].tolist()
    expected = batch_predictions(arguments.task, texts).set_index("text")
    classes = [name.removeprefix("probability_") for name in expected.columns if name.startswith("probability_")]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "flaxline", "serve", "--task", arguments.task, "--port", str(port)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/predict"
    try:
        for _ in range(240):
            if server.poll() is not None:
                sys.exit("flaxline serve stopped")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        size = arguments.texts_per_request
        requests = [[texts[(n * size + k) % len(texts)] for k in range(size)] for n in range(arguments.requests + 50)]
        with ThreadPoolExecutor(arguments.clients) as clients:
            list(clients.map(lambda batch: predict(url, batch), requests[:50]))  # compiles the batch shapes
            started = time.perf_counter()
            results = list(clients.map(lambda batch: predict(url, batch), requests[50:]))
            seconds = time.perf_counter() - started
            if seconds > 600:
                sys.exit("the load took more than 600 s")
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies = sorted(latency * 1000 for latency, _, _ in results)
    errors = sum(status != 200 for _, status, _ in results)
    differing = 0
    for batch, (_, _, body) in zip(requests[50:], results, strict=True):
        for text, answer in zip(batch, (body or {}).get("predictions", []), strict=False):
            row = expected.loc[text]
            row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
            close = all(abs(answer["probabilities"][name] - row[f"probability_{name}"]) <= 1e-5 for name in classes)
            differing += not (close and answer["class"] == row["predicted"])
    print(
        json.dumps(
            {
                "task": arguments.task,
                "requests": len(results),
                "clients": arguments.clients,
                "texts_per_request": size,
                "p50_ms": round(statistics.median(latencies), 2),
                "p90_ms": round(latencies[int(0.9 * len(latencies))], 2),
                "p99_ms": round(latencies[int(0.99 * len(latencies))], 2),
                "requests_per_s": round(len(results) / seconds, 1),
                "errors": errors,
                "answers_differing_from_batch_inference": differing,
            }
        )
    )


if __name__ == "__main__":
    main()
