"""MLflow tracking: a run in the `mlflow` environment is logged to a local SQLite store; other runs know nothing of
MLflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version

import pandas as pd
import pytest

from tests.conftest import PROJECT_ROOT, default_pipeline_run, latest, make_small_project

pytestmark = pytest.mark.slow

# A tiny model; every batch as wide as the padded ids (length_multiple 128), so one shape is compiled.
TRACKED_PARAMETERS = """
tasks:
  tweets:
    training:
      model: {name: lstm, embed_dim: 8, hidden_dim: 8}
      loop: {epochs: 2, batch_size: 64, patience: null, length_multiple: 128, bucket_window_batches: 0}
"""


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    """The default pipeline on 300 real rows, run with the shipped `mlflow` environment."""
    root = make_small_project(tmp_path_factory.mktemp("tracked"), rows=300, env="mlflow")
    (root / "conf" / "mlflow" / "parameters_tweets.yml").write_text(TRACKED_PARAMETERS)
    with default_pipeline_run(root, "mlflow"):
        yield root
    # kedro-mlflow exports the store and experiment for subprocesses; later tests' subprocesses need neither.
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID"):
        os.environ.pop(name, None)


def test_parameters_epochs_metrics_and_model_are_logged(tracked_run, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tracked_run}/data/09_tracking/mlflow.db")
    experiment = client.get_experiment_by_name("flaxline")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["tweets.training.loop.epochs"] == "2"
    assert run.data.params["tweets.training.model.hidden_dim"] == "8"
    assert run.data.params["tweets.split.seed"] == "42"

    data = tracked_run / "data"
    history = pd.read_parquet(latest(data / "07_model_output/tweets/history.parquet"))
    logged = client.get_metric_history(run.info.run_id, "tweets.history.validation_loss")
    assert sorted((metric.step, metric.value) for metric in logged) == list(
        zip(history["epoch"], history["validation_loss"], strict=True)
    )
    assert len(logged) == 2

    metrics = json.loads(latest(data / "08_reporting/tweets/model_metrics.json").read_text())
    assert run.data.metrics["tweets.model_metrics.accuracy"] == metrics["accuracy"]
    assert run.data.metrics["tweets.model_metrics.macro_f1"] == metrics["macro_f1"]
    assert "tweets.baseline_metrics.accuracy" in run.data.metrics

    artifacts = {artifact.path for artifact in client.list_artifacts(run.info.run_id, "tweets")}
    assert artifacts == {"tweets/model.safetensors", "tweets/model_metrics.json", "tweets/baseline_metrics.json"}
    model = client.download_artifacts(run.info.run_id, "tweets/model.safetensors", str(tmp_path))
    assert open(model, "rb").read() == latest(data / "06_models/tweets/model.safetensors").read_bytes()
    assert not (tracked_run / "mlruns").exists()


def test_tracking_without_the_extra_says_how_to_install_it(tracked_run, monkeypatch):
    from kedro.framework.session import KedroSession

    from flaxline.errors import InputError

    with KedroSession.create(project_path=tracked_run, env="mlflow") as session:
        monkeypatch.setitem(sys.modules, "kedro_mlflow.framework.hooks.mlflow_hook", None)  # as if not installed
        with pytest.raises(InputError, match=r"^environment 'mlflow' has an mlflow.yml .*uv sync --extra mlflow"):
            session.load_context()


def test_an_environment_without_mlflow_yml_is_not_tracked(tmp_path, monkeypatch):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    assert version("kedro-mlflow")  # installed here: its hooks, if they were on, would track this session
    root = make_small_project(tmp_path, rows=10)
    monkeypatch.chdir(root)
    bootstrap_project(root)
    with KedroSession.create(project_path=root, env="test") as session:
        context = session.load_context()
    assert not hasattr(context, "mlflow")  # kedro-mlflow's hook sets it on every context it sees
    assert not (root / "mlruns").exists() and not list(root.rglob("mlflow.db"))


def test_flaxline_never_imports_mlflow():
    code = """
import pkgutil, sys
from importlib import import_module
from pathlib import Path
import flaxline
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project
for module in pkgutil.walk_packages(flaxline.__path__, "flaxline."):
    import_module(module.name)
bootstrap_project(Path.cwd())
assert "__default__" in pipelines
print(sorted(name for name in sys.modules if name.split(".")[0] in ("mlflow", "kedro_mlflow")))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
