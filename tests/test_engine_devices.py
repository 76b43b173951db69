import json
import logging
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from flaxline.engine.devices import resolve_placement
from flaxline.engine.prefetch import prefetched
from flaxline.engine.train import train
from flaxline.models.serialization import model_to_bytes
from tests.conftest import PROJECT_ROOT
from tests.test_engine import INPUTS, spec, toy_data


def test_auto_is_the_cpu_here_in_float32_on_one_device():
    placement = resolve_placement("auto", "auto", "auto", 64, 256)
    assert placement.describe() == {
        "platform": "cpu",
        "device_kind": "cpu",
        "device_count": 1,
        "compute_dtype": "float32",
    }
    assert not placement.data_parallel
    assert resolve_placement("auto", "bfloat16", False).compute_dtype == "bfloat16"  # set, not auto: kept


def test_an_absent_accelerator_is_a_warning_and_the_run_goes_on(caplog):
    with caplog.at_level(logging.WARNING, logger="flaxline.engine.devices"):
        placement = resolve_placement("gpu", "auto", "auto", 64)
    assert placement.platform == "cpu" and placement.compute_dtype == "float32"
    assert "device gpu asked for, but JAX finds none (install it: uv sync --extra gpu" in caplog.text


@pytest.mark.parametrize("size", [0, 1, 3])
def test_prefetching_yields_the_same_items_in_the_same_order(size):
    assert list(prefetched(iter(range(20)), lambda item: item * 10, size)) == [item * 10 for item in range(20)]


def test_a_failure_while_prefetching_is_raised_where_the_batches_are_used():
    def batches():
        yield 1
        raise ValueError("a bad batch")

    with pytest.raises(ValueError, match="a bad batch"):
        list(prefetched(batches(), lambda item: item, 2))


def test_stopping_early_ends_the_prefetching_thread():
    before = threading.active_count()
    taken = []
    for item in prefetched(iter(range(1000)), lambda item: item, 2):
        taken.append(item)
        if len(taken) == 3:
            break
    assert taken == [0, 1, 2] and threading.active_count() == before


def test_prefetching_trains_the_byte_identical_model():
    assert resolve_placement("auto", "auto", "auto").batches_ahead("auto") == 0  # a CPU is its own host
    inline = spec(epochs=2, prefetch_batches=0, bucket_window_batches=2)
    ahead = spec(epochs=2, prefetch_batches=3, bucket_window_batches=2)
    first, second = (train(settings, toy_data(), INPUTS, 2) for settings in (inline, ahead))
    assert model_to_bytes(first.model, first.config) == model_to_bytes(second.model, second.config)
    assert [r["train_loss"] for r in first.history] == [r["train_loss"] for r in second.history]
    assert np.isfinite([r["validation_loss"] for r in second.history]).all()


@pytest.mark.slow
@pytest.mark.parametrize(("extra", "package"), [("gpu", "jax-cuda13-plugin"), ("tpu", "libtpu")])
def test_the_accelerator_extras_resolve(extra, package):
    """What `uv sync --extra gpu` would install, without installing it (it reads the package index)."""
    uv = os.environ.get("UV") or shutil.which("uv")
    done = subprocess.run(
        [uv, "sync", "--extra", extra, "--dry-run"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f" + {package}==" in done.stdout + done.stderr


@pytest.mark.slow
def test_the_accelerator_benchmark_runs_on_a_cpu():
    script = PROJECT_ROOT / "benchmarks" / "accelerator.py"
    done = subprocess.run(
        [sys.executable, str(script), "--tiny", "--batch-sizes", "16"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(line["model"], line["batch_size"]) for line in lines] == [("lstm", 16), ("bilstm_attention", 16)]
    assert all(
        line["platform"] == "cpu" and line["train_ex_per_s"] > 0 and line["model_tflop_per_s"] > 0 for line in lines
    )
    assert all(line["peak_memory_mb"] > 0 and line["utilisation"] is None for line in lines)  # no known peak for a CPU
