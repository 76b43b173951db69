"""Tasks by configuration alone, through a KedroSession: a new 4-line text task on headerless, gzipped
files that bring no validation split (and the data-quality gate stopping it), and the digits task."""

from __future__ import annotations

import gzip
import json
import random

import matplotlib.image
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from flaxline.errors import InputError, find_user_error
from tests.conftest import latest, make_small_project

pytestmark = pytest.mark.slow

NEWS = "tasks:\n  news:\n    kind: text_classification\n    classes: [World, Sports, Business, Sci/Tech]\n"
CATALOG = """news.raw:
  type: flaxline.datasets.DelimitedTextDataset
  filepath: data/01_raw/news
  splits: {train: train.tsv.gz, test: test.tsv.gz}
  column_names: [text, label]
  delimiter: "\\t"
"""
WORDS = {
    "World": "election treaty minister",
    "Sports": "match goal league",
    "Business": "shares profit market",
    "Sci/Tech": "software chip orbit",
}


def write_news(folder, label_spelling=lambda label: label, seed=0):
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for name, rows in (("train.tsv.gz", 400), ("test.tsv.gz", 100)):
        lines = []
        for index in range(rows):
            label = rng.choice(list(WORDS))
            words = rng.sample(WORDS[label].split(), 2) + [f"story{index}", rng.choice(["today", "again", "news"])]
            lines.append(" ".join(words) + "\t" + label_spelling(label))
        (folder / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def run_task(root, task: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("KEDRO_ENV", "test")
        bootstrap_project(root)
        with KedroSession.create(project_path=root, env="test") as session:
            session.run(pipeline_names=[task])


def news_project(tmp_path, **spelling):
    root = make_small_project(tmp_path, rows=10)
    (root / "conf/test/parameters_news.yml").write_text(NEWS + "    training: {loop: {epochs: 4}}\n")
    (root / "conf/test/catalog.yml").write_text((root / "conf/test/catalog.yml").read_text() + CATALOG)
    write_news(root / "data/01_raw/news", **spelling)
    return root


def test_a_four_line_task_runs_every_stage_on_headerless_gzipped_files(tmp_path):
    root = news_project(tmp_path)
    run_task(root, "news")
    data = root / "data"
    splits = {
        name: pd.read_parquet(data / f"03_primary/news/{name}.parquet") for name in ("train", "validation", "test")
    }
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (
        360,
        40,
        100,
    )  # 10 % of train carved
    assert splits["validation"]["label"].nunique() == 4
    metrics = json.loads(latest(data / "08_reporting/news/model_metrics.json").read_text())
    assert metrics["class_names"] == ["World", "Sports", "Business", "Sci/Tech"] and metrics["examples"] == 100
    assert metrics["accuracy"] > 0.9  # two topic words decide the label
    assert not (data / "02_intermediate/tweets").exists()  # the default task did not run


def test_labels_spelt_otherwise_stop_the_run_at_the_gate_and_keep_the_rejected_rows(tmp_path):
    root = news_project(tmp_path, label_spelling=lambda label: f" {label} " if label == "Sports" else label)
    with pytest.raises(Exception) as raised:
        run_task(root, "news.data_processing")
    error = find_user_error(raised.value)
    assert isinstance(error, InputError) and "rejected as unknown_label, above the limit of 5.0%" in str(error), (
        raised.value
    )
    rejected = pd.read_parquet(latest(root / "data/02_intermediate/news/rejected.parquet"))
    assert set(rejected["label"]) == {" Sports "} and not (root / "data/02_intermediate/news/clean.parquet").exists()


def test_the_digits_task_runs_end_to_end(tmp_path):
    root = make_small_project(tmp_path, rows=10)
    run_task(root, "digits")
    reporting = root / "data/08_reporting/digits"
    metrics = json.loads(latest(reporting / "model_metrics.json").read_text())
    baseline = json.loads(latest(reporting / "baseline_metrics.json").read_text())
    assert metrics["model"]["name"] == "cnn2d" and baseline["model"]["name"] == "pixel_logistic_regression"
    assert metrics["examples"] == 180 and metrics["accuracy"] > 0.95 and baseline["accuracy"] > 0.9
    figure = matplotlib.image.imread(latest(reporting / "misclassified.png"))
    assert figure.shape[0] > 100 and figure.shape[1] > 500  # a grid of up to 24 images, 8 across


def test_the_movielens_task_runs_end_to_end_on_small_grouplens_files(tmp_path):
    root = make_small_project(tmp_path, rows=10)
    folder = root / "data/01_raw/movielens"
    folder.mkdir(parents=True)
    rng = random.Random(0)
    rows = [f"{rng.randint(1, 30)},{rng.randint(1, 40)},{rng.randint(1, 10) / 2},{1000 + i}" for i in range(800)]
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "\n".join(rows) + "\n")
    (folder / "movies.csv").write_text("movieId,title\n" + "".join(f"{i},Film {i}\n" for i in range(1, 41)))
    (root / "conf/test/parameters_movielens.yml").write_text(
        "tasks:\n  movielens:\n    training: {loop: {epochs: 3}}\n"
    )
    run_task(root, "movielens")
    reporting = root / "data/08_reporting/movielens"
    metrics = json.loads(latest(reporting / "model_metrics.json").read_text())
    assert metrics["model"]["name"] == "biased_mf" and {"rmse", "mae", "mse", "ndcg_at_10", "precision_at_10"} <= set(
        metrics
    )
    recommendations = pd.read_csv(latest(reporting / "recommendations.csv"))
    assert len(recommendations) == 50 and recommendations["title"].str.startswith("Film").all()
