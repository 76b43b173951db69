"""Training faults in a real `kedro run`: killed with SIGKILL (mid-training, or while writing a checkpoint) and
started again, it ends with the same model file; diverging, it ends in one line."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_small_project

pytestmark = pytest.mark.slow

# length_multiple 32: few shapes to compile
PARAMETERS = """
tasks:
  tweets:
    training:
      model: {name: lstm, embed_dim: 16, hidden_dim: 16, dropout: 0.1, token_dropout: 0.1}
      loop: {epochs: 2, batch_size: 8, patience: null, bucket_window_batches: 4, length_multiple: 32}
      checkpoint: {every_steps: 10, keep: 2}
"""

# Loaded through PYTHONPATH by the child: SIGKILLs it when the checkpoint of step KILL_AT_STEP is written
# but not yet renamed from its temporary folder.
KILL_DURING_CHECKPOINT_WRITE = """
import os, signal
from orbax.checkpoint._src.path import atomicity

rename = atomicity.AtomicRenameTemporaryPath.finalize

async def finalize(self):
    if self._final_path.name == os.environ["KILL_AT_STEP"]:
        os.kill(os.getpid(), signal.SIGKILL)
    await rename(self)

atomicity.AtomicRenameTemporaryPath.finalize = finalize
"""


def kedro_run(root: Path, pipeline: str, *options: str, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipelines", pipeline, *options],
        cwd=root,
        env=os.environ | {"KEDRO_DISABLE_TELEMETRY": "1"} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    return output


def model_files(root: Path) -> list[Path]:
    return sorted((root / "data/06_models/tweets/model.safetensors").glob("*/model.safetensors"))


def checkpoint_folders(root: Path) -> list[Path]:
    return sorted((root / "data/06_models/checkpoints").glob("*/*"))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A small project after one uninterrupted run of the `tweets` stages up to training: the reference model."""
    root = make_small_project(tmp_path_factory.mktemp("resume"), rows=600)
    (root / "conf/test/parameters_tweets.yml").write_text(PARAMETERS)
    finished(
        kedro_run(root, ",".join(f"tweets.{stage}" for stage in ("data_processing", "split", "features", "training")))
    )
    assert len(model_files(root)) == 1 and not checkpoint_folders(root)  # a finished run deletes its checkpoints
    return root


def test_a_run_killed_mid_training_resumes_to_a_byte_identical_model(project):
    reference = model_files(project)[0].read_bytes()
    process = kedro_run(project, "tweets.training")
    deadline = time.monotonic() + 300
    while not any(path.name.isdigit() for path in checkpoint_folders(project)):
        assert process.poll() is None and time.monotonic() < deadline, "training ended before a checkpoint was seen"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert len(model_files(project)) == 1  # nothing saved by the killed run

    output = finished(kedro_run(project, "tweets.training"))
    assert "resuming from the checkpoint of step" in output
    assert model_files(project)[-1].read_bytes() == reference
    assert not checkpoint_folders(project)


def test_a_checkpoint_cut_short_is_ignored(project, tmp_path):
    reference = model_files(project)[0].read_bytes()
    (tmp_path / "sitecustomize.py").write_text(KILL_DURING_CHECKPOINT_WRITE)
    killed = kedro_run(project, "tweets.training", PYTHONPATH=str(tmp_path), KILL_AT_STEP="30")
    killed.communicate(timeout=600)
    assert killed.returncode == -signal.SIGKILL
    names = [path.name for path in checkpoint_folders(project)]
    assert sorted(name for name in names if name.isdigit()) == ["10", "20"]
    assert any(name.startswith("30.orbax-checkpoint-tmp") for name in names), names

    output = finished(kedro_run(project, "tweets.training"))
    assert "resuming from the checkpoint of step 20 " in output
    assert model_files(project)[-1].read_bytes() == reference


def test_diverged_training_ends_in_one_line_naming_epoch_and_step(project):
    process = kedro_run(project, "tweets.training", "--params", "tweets.training.optimizer.learning_rate=.nan")
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 1, output[-3000:]
    # Step 1's loss is computed before the first (NaN) update.
    line = "Error: training diverged: non-finite loss at epoch 1, step 2; lower the learning rate or clip gradients"
    assert line in output.splitlines(), output[-3000:]
    assert "Traceback" not in output and "╭" not in output, output[-3000:]
