"""Each stage's real nodes run through Kedro's runner, one stage after the other, on the
project's own catalog (factories and dataset classes) with a small raw sample made here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import pipeline
from kedro.runner import SequentialRunner

from flaxline.models.embedding import SUBWORD_WIDTH
from flaxline.models.serialization import ModelArtifact
from flaxline.pipelines import data_processing, evaluation, features, split, training
from flaxline.settings import CONFIG_LOADER_ARGS
from flaxline.text.subwords import subword_table
from flaxline.text.tokenizer import vocabulary
from tests.conftest import PROJECT_ROOT, corpus_sample_bytes

CLASSES = ["negative", "neutral", "positive"]
# The default task's word tokenizer, lstm and fp32 evaluation run in tests/test_default_run.py;
# here the stages run with the other choices: BPE subwords, an ensemble of members with character
# n-gram vectors, bf16 evaluation.
PARAMETERS = {
    "classes": CLASSES,
    "data_processing": {
        "columns": {"text": "text", "label": "sentiment", "confidence": "confidence"},
        "min_confidence": None,
        "policy": {"urls": "replace", "mentions": "replace", "hashtags": "replace"},
    },
    "split": {"validation_fraction": 0.15, "test_fraction": 0.15, "seed": 0},
    "features": {
        "lowercase": True, "tokenizer_model": "bpe", "min_frequency": 2, "max_vocab_size": 400,
        "length_quantile": 0.99, "length_multiple": 8, "max_length": 64,
    },
    "training": {
        "model": {"name": "ensemble", "size": 2, "member": {"name": "lstm", "embed_dim": 8, "hidden_dim": 8, "subword_buckets": 256}},
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "loop": {"epochs": 2, "batch_size": 32},
    },
    "evaluation": {"batch_size": 64, "compute_dtype": "bfloat16", "baseline": {"ngram_max": 1}},
}


class TaskCatalog:
    """The catalog seen through the task's namespace: ``load("clean")`` reads ``tweets.clean``."""

    def __init__(self, catalog: DataCatalog):
        self.catalog = catalog

    def load(self, name: str):
        return self.catalog.load(f"tweets.{name}")


def run(stage, catalog: TaskCatalog) -> None:
    SequentialRunner().run(pipeline(stage, namespace="tweets"), catalog.catalog)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("stages")
    (root / "tweets.csv").write_bytes(corpus_sample_bytes(600, seed=1))
    config = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)["catalog"]
    config["tweets.raw"]["filepath"] = str(root / "tweets.csv")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # the catalog's relative paths land in this folder
        catalog = DataCatalog.from_config(config)
        for name, value in PARAMETERS.items():
            catalog[f"params:tweets.{name}"] = MemoryDataset(value)
        yield TaskCatalog(catalog)


def test_data_processing_accounts_for_every_row(catalog):
    run(data_processing.create_pipeline(), catalog)
    clean, rejected, report = (catalog.load(name) for name in ("clean", "rejected", "cleaning_report"))
    assert report["decoded_lines_by_encoding"]["mac_roman"] > 0
    assert len(clean) + len(rejected) == 600 == report["raw_rows"]
    assert set(clean["label"]) == set(CLASSES)
    assert not clean["text"].str.contains("http").any()


def test_split_is_stratified_and_complete(catalog):
    run(split.create_pipeline(), catalog)
    parts = [catalog.load(f"{name}_text") for name in ("train", "validation", "test")]
    assert sum(map(len, parts)) == len(catalog.load("clean"))
    assert len(pd.concat(parts)["row"].unique()) == len(catalog.load("clean"))


def test_features_encode_every_split_with_the_train_tokenizer(catalog):
    run(features.create_pipeline(), catalog)
    encoding = catalog.load("encoding")
    assert json.loads(catalog.load("tokenizer").to_str())["model"]["type"] == "BPE" and encoding["vocab_size"] <= 400
    for name in ("train", "validation", "test"):
        arrays = catalog.load(f"{name}_features")
        assert arrays["ids"].shape == (len(catalog.load(f"{name}_text")), encoding["max_length"])
        assert (arrays["lengths"] > 0).all() and arrays["ids"].max() < encoding["vocab_size"]


def test_training_returns_a_model_and_a_history(catalog):
    run(training.create_pipeline(), catalog)
    model = catalog.load("model")
    assert isinstance(model, ModelArtifact) and model.config["vocab_size"] == catalog.load("encoding")["vocab_size"]
    assert model.config["name"] == "ensemble" and len(model.model.members) == 2
    # The saved model (loaded back by the catalog) carries each member's spelling of the tokenizer's vocabulary.
    tokenizer = catalog.load("tokenizer")
    expected = subword_table(vocabulary(tokenizer), 256, SUBWORD_WIDTH)
    for member in model.model.members:
        np.testing.assert_array_equal(member.embed.subword_table[...], expected)
    assert catalog.load("history")["epoch"].tolist() == [1, 2]


def test_evaluation_reports_network_and_baseline_side_by_side(catalog):
    run(evaluation.create_pipeline(), catalog)
    table = catalog.load("comparison")
    assert table["model"].tolist() == ["ensemble", "tfidf_logistic_regression"]
    predictions = catalog.load("test_predictions")
    probabilities = predictions[[f"probability_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert catalog.load("model_metrics")["examples"] == len(catalog.load("test_text"))
