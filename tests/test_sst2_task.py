"""A second task by configuration alone: `kedro run --pipelines sst2` on small files in SST-2's layout."""

from __future__ import annotations

import json
import random

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.conftest import make_small_project

pytestmark = pytest.mark.slow

WORDS = {"1": ["great", "moving", "funny", "superb"], "0": ["dull", "boring", "awful", "flat"]}
NEUTRAL = ["the", "film", "a", "story", "is", "with", "cast", "plot"]


def write_sst2(directory, seed=0):
    rng = random.Random(seed)
    directory.mkdir(parents=True)
    for name, rows in (("train.tsv", 400), ("dev.tsv", 80), ("test.tsv", 80)):
        lines = ["sentence\tlabel"]
        for _ in range(rows):
            label = rng.choice("01")
            words = rng.sample(NEUTRAL, 4) + [rng.choice(WORDS[label])]
            rng.shuffle(words)
            lines.append(" ".join(words) + " \t" + label)
        (directory / name).write_text("\n".join(lines) + "\n")


def test_sst2_runs_from_configuration_with_its_own_splits(tmp_path):
    root = make_small_project(tmp_path, rows=50)
    write_sst2(root / "data" / "01_raw" / "sst2")
    (root / "conf" / "test" / "parameters_sst2.yml").write_text(
        "tasks:\n  sst2:\n    training:\n      model: {name: lstm, embed_dim: 16, hidden_dim: 16}\n"
        "      optimizer: {learning_rate: 0.01}\n      loop: {epochs: 8}\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("KEDRO_ENV", "test")
        bootstrap_project(root)
        with KedroSession.create(project_path=root, env="test") as session:
            session.run(pipeline_names=["sst2"])
    reporting = root / "data" / "08_reporting" / "sst2"
    metrics = json.loads(next((reporting / "model_metrics.json").glob("*/model_metrics.json")).read_text())
    assert metrics["examples"] == 80 and metrics["class_names"] == ["0", "1"]
    assert metrics["accuracy"] > 0.9  # one sentiment word decides the label
    assert not (root / "data" / "02_intermediate" / "tweets").exists()  # the default task did not run
