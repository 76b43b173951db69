"""The whole default pipeline through a KedroSession on ~2,000 real rows, then the notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib.image
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from flaxline.models.serialization import model_from_bytes
from tests.conftest import latest

pytestmark = pytest.mark.slow


def test_every_output_is_written_and_every_row_accounted_for(small_project_run):
    data = small_project_run / "data"
    report = json.loads(latest(data / "08_reporting/tweets/cleaning_report.json").read_text())
    clean = pd.read_parquet(data / "02_intermediate/tweets/clean.parquet")
    rejected = pd.read_parquet(latest(data / "02_intermediate/tweets/rejected.parquet"))
    assert report["raw_rows"] == 2000 == len(clean) + len(rejected)
    splits = [pd.read_parquet(data / f"03_primary/tweets/{name}.parquet") for name in ("train", "validation", "test")]
    assert sum(map(len, splits)) == len(clean)
    reporting = data / "08_reporting/tweets"
    assert pd.read_csv(latest(reporting / "comparison.csv"))["model"].tolist() == ["lstm", "tfidf_logistic_regression"]
    for name in ("confusion_matrix.png", "learning_curves.png", "comparison.png"):
        height, width, _ = matplotlib.image.imread(latest(reporting / name)).shape
        assert height > 300 and width > 800, name  # two panels (or models) side by side
    assert matplotlib.image.imread(latest(reporting / "reliability.png")).shape[0] > 500
    assert latest(reporting / "explanations.html").read_text().count("<li>") == 32
    metrics = json.loads(latest(data / "08_reporting/tweets/model_metrics.json").read_text())
    baseline = json.loads(latest(data / "08_reporting/tweets/baseline_metrics.json").read_text())
    assert metrics["examples"] == len(splits[2]) == sum(sum(row) for row in metrics["confusion_matrix"])
    assert metrics["accuracy"] > 0.45 and baseline["accuracy"] > 0.45  # three classes, 43 % of the largest
    assert {"negative", "neutral", "positive", "macro avg", "weighted avg"} <= set(metrics["report"])
    model, config = model_from_bytes(latest(data / "06_models/tweets/model.safetensors").read_bytes(), "model")
    encoding = json.loads(latest(data / "04_feature/tweets/encoding.json").read_text())
    assert config.model.name == "lstm" and config.inputs.vocab_size == encoding["inputs"]["vocab_size"]


def test_an_older_model_is_re_evaluated_with_load_versions(small_project_run):
    from kedro.framework.session import KedroSession

    models = small_project_run / "data/06_models/tweets/model.safetensors"
    version = sorted(p.name for p in models.iterdir())[0]
    metrics_dir = small_project_run / "data/08_reporting/tweets/model_metrics.json"
    before = {p.name for p in metrics_dir.iterdir()}
    with KedroSession.create(project_path=small_project_run, env="test") as session:
        session.run(pipeline_names=["evaluation"], load_versions={"tweets.model": version})
    added = {p.name for p in metrics_dir.iterdir()} - before
    assert len(added) == 1
    first = json.loads((metrics_dir / sorted(before)[0] / "model_metrics.json").read_text())
    again = json.loads((metrics_dir / added.pop() / "model_metrics.json").read_text())
    assert again["report"] == first["report"]


def test_the_notebook_runs_headless_after_cross_validation(small_project_run):
    from kedro.framework.session import KedroSession

    with KedroSession.create(project_path=small_project_run, env="test") as session:
        session.run(pipeline_names=["tweets.cross_validation"])
    notebook = nbformat.read(Path(__file__).parents[1] / "notebooks" / "explore.ipynb", as_version=4)
    assert os.environ.get("KEDRO_ENV") == "test"  # the kernel inherits it and reads the sample's catalog
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(small_project_run)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any("image/png" in output.get("data", {}) for output in outputs)
    assert any("2000 raw rows" in output.get("text", "") for output in outputs)
    html = [output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert any("rgba(" in page and "completeness gap" in page for page in html)  # the explained error
    assert any(">mean<" in table and "tfidf_logistic_regression" in table for table in html)  # the folds' table
