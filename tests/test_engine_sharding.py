"""Data parallelism on 8 forced CPU devices, in a subprocess so the flag does not leak into other tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import json, jax
    from flaxline.engine.train import train
    from tests.test_engine import INPUTS, spec, toy_data

    def run(data_parallel):
        settings = spec(epochs=2, patience=None, eval_batch_size=64, data_parallel=data_parallel)
        return train(settings, toy_data(), INPUTS, 2)

    def losses(trained):
        return [[r["train_loss"], r["validation_loss"]] for r in trained.history]

    one, every, auto = run(False), run(True), run("auto")
    print(json.dumps({
        "devices": jax.device_count(), "one": losses(one), "all": losses(every), "auto": losses(auto),
        "placements": [trained.placement.describe()["device_count"] for trained in (one, every, auto)],
    }))
    """
)


def test_data_parallel_training_matches_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 8 and result["placements"] == [1, 8, 8]  # auto: every device when there are several
    assert result["auto"] == result["all"]
    for one, every in zip(result["one"], result["all"], strict=True):
        assert abs(one[0] - every[0]) < 1e-4 and abs(one[1] - every[1]) < 1e-4
