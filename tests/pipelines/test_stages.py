"""Each stage's real nodes run through Kedro's runner, one stage after the other, on the project's
own catalog (factories and dataset classes) with small raw data made here: a text task from a
sample of the default corpus, and an image task from scikit-learn's digits."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest
from flax import nnx
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, pipeline
from kedro.runner import SequentialRunner
from kedro.validation.parameter_validator import ParameterValidator
from scipy.special import softmax

from flaxline.data.delimited import read_delimited
from flaxline.datasets import DelimitedTextDataset, VersionsDataset
from flaxline.engine.batching import Batching
from flaxline.engine.inference import predict
from flaxline.errors import InputError
from flaxline.kinds import KINDS, task_parameters
from flaxline.models.embedding import SUBWORD_WIDTH
from flaxline.models.serialization import ModelArtifact
from flaxline.pipelines.evaluation.nodes import EvaluationParams
from flaxline.pipelines.fusion.nodes import FusionParams, member_logits
from flaxline.pipelines.rating_evaluation.nodes import RatingEvaluationParams, recommend_items
from flaxline.serving.exported import ExportedClassifier
from flaxline.settings import CONFIG_LOADER_ARGS
from flaxline.text.subwords import subword_table
from flaxline.text.tokenizer import vocabulary
from tests.bert_checkpoint import write_checkpoint
from tests.conftest import PROJECT_ROOT, corpus_sample_bytes

CLASSES = ["negative", "neutral", "positive"]
# The default task's word tokenizer, lstm and fp32 evaluation run in tests/test_default_run.py;
# here the stages run with the other choices: BPE subwords, an ensemble of members with character
# n-gram vectors, bf16 evaluation.
TEXT_TASK = {
    "kind": "text_classification",
    "classes": CLASSES,
    "data_processing": {"columns": {"text": "text", "label": "sentiment", "confidence": "confidence"}},
    "split": {"validation_fraction": 0.15, "test_fraction": 0.15, "seed": 0},
    "features": {"tokenizer_model": "bpe", "min_frequency": 2, "max_vocab_size": 400, "max_length": 64},
    "training": {
        "model": {
            "name": "ensemble",
            "size": 2,
            "member": {"name": "lstm", "embed_dim": 8, "hidden_dim": 8, "subword_buckets": 256},
        },
        "optimizer": {"learning_rate": 0.01},
        "loop": {"epochs": 2, "batch_size": 32},
        "checkpoint": {"directory": None},
    },
    "evaluation": {"batch_size": 64, "compute_dtype": "bfloat16", "baseline": {"ngram_max": 1}},
    # An ensemble has no units to prune whole: the structured method is refused (tested apart).
    "compression": {
        "methods": ["int8", "pruned"],
        "latency_rows": 8,
        "throughput_seconds": 0.0,
        "length_multiple": 64,  # one compiled shape per model
    },
    "inference": {"batch_size": 64},
}
IMAGE_TASK = {
    "kind": "image_classification",
    "classes": list(range(10)),
    "training": {
        "model": {"name": "cnn2d", "channels": [8], "dense_dim": 16, "augmentation": {"shift": 1.0}},
        "optimizer": {"learning_rate": 0.01},
        "loop": {"epochs": 3, "batch_size": 64},
        "checkpoint": {"directory": None},
    },
    "cross_validation": {"folds": 3},
    "compression": {"methods": ["int8", "pruned"], "latency_rows": 8, "throughput_seconds": 0.0},
}


class TaskCatalog:
    """The project's catalog seen through one task's namespace: ``load("clean")`` reads ``<task>.clean``."""

    def __init__(self, catalog: DataCatalog, task: str, declaration: dict, raw: dict):
        self.catalog, self.task, self.raw = catalog, task, raw
        kind, parameters = KINDS[declaration["kind"]], {task: task_parameters(task, declaration)}
        self.stages = {name: pipeline(create(), namespace=task) for name, create in kind.stages.items()}
        separate = kind.separate(parameters[task], task)
        self.stages |= {name: pipeline(stage, namespace=task) for name, stage in separate.items()}
        # As Kedro does before a run: each node's typed parameters validated and instantiated.
        typed = ParameterValidator({"all": sum(self.stages.values(), Pipeline([]))}).validate_raw_params(parameters)
        for name, value in typed[task].items():
            catalog[f"params:{task}.{name}"] = MemoryDataset(value, copy_mode="assign")

    def load(self, name: str):
        return self.catalog.load(f"{self.task}.{name}")

    def run(self, stage: str) -> None:
        SequentialRunner().run(self.stages[stage], self.catalog)

    def renewed(self, declaration: dict) -> TaskCatalog:
        """A catalog of the same task and data for another declaration, saving new versions (a later run)."""
        return project_catalog(self.task, self.raw, declaration)


def project_catalog(task: str, raw: dict, declaration: dict) -> TaskCatalog:
    config = OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)["catalog"]
    config[f"{task}.raw"] = raw
    return TaskCatalog(DataCatalog.from_config(config), task, declaration, raw)


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    root = tmp_path_factory.mktemp("text_stages")
    (root / "tweets.csv").write_bytes(corpus_sample_bytes(600, seed=1))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # the catalog's relative paths land in this folder
        raw = {"type": "flaxline.datasets.DelimitedTextDataset", "filepath": str(root / "tweets.csv")}
        yield project_catalog("tweets", raw, TEXT_TASK)


def test_data_processing_accounts_for_every_row(text):
    text.run("data_processing")
    clean, rejected, report = (text.load(name) for name in ("clean", "rejected", "cleaning_report"))
    assert report["decoded_lines_by_encoding"]["mac_roman"] > 0
    assert len(clean) + len(rejected) == 600 == report["raw_rows"]
    assert clean.equals(text.load("kept")) and report["limits"]["unknown_label"] == 0.05
    assert set(clean["label"]) == set(CLASSES)
    assert not clean["text"].str.contains("http").any()


def test_split_is_stratified_and_complete(text):
    text.run("split")
    parts = [text.load(f"{name}_rows") for name in ("train", "validation", "test")]
    assert sum(map(len, parts)) == len(text.load("clean"))
    assert len(pd.concat(parts)["row"].unique()) == len(text.load("clean"))


def test_features_encode_every_split_with_the_train_tokenizer(text):
    text.run("features")
    encoding = text.load("encoding")
    assert json.loads(text.load("tokenizer").to_str())["model"]["type"] == "BPE"
    assert encoding["inputs"]["vocab_size"] <= 400 and encoding["inputs"]["vocabulary"] == vocabulary(
        text.load("tokenizer")
    )
    for name in ("train", "validation", "test"):
        arrays = text.load(f"{name}_features")
        assert arrays["ids"].shape == (len(text.load(f"{name}_rows")), encoding["max_length"])
        assert (arrays["lengths"] > 0).all() and arrays["ids"].max() < encoding["inputs"]["vocab_size"]


def test_training_returns_a_model_and_a_history(text):
    text.run("training")
    model = text.load("model")
    assert (
        isinstance(model, ModelArtifact)
        and model.config.inputs.vocab_size == text.load("encoding")["inputs"]["vocab_size"]
    )
    assert model.config.model.name == "ensemble" and len(model.model.members) == 2
    # The saved model (loaded back by the catalog) carries each member's spelling of the tokenizer's vocabulary.
    expected = subword_table(vocabulary(text.load("tokenizer")), 256, SUBWORD_WIDTH)
    for member in model.model.members:
        np.testing.assert_array_equal(member.embed.subword_table[...], expected)
    assert text.load("history")["epoch"].tolist() == [1, 2]
    report = text.load("training_report")
    assert report["temperature"] == text.load("model").config.temperature != 1.0  # fitted on validation
    assert report["device"] == {"platform": "cpu", "device_kind": "cpu", "device_count": 1, "compute_dtype": "float32"}
    assert report["epochs_run"] == 2 and report["last_epoch_train_examples_per_second"] > 0


def test_evaluation_reports_network_and_baseline_side_by_side(text):
    text.run("evaluation")
    table = text.load("comparison")
    assert table["model"].tolist() == ["ensemble", "tfidf_logistic_regression"]
    assert (table["accuracy_low"] <= table["accuracy"]).all() and (table["accuracy"] <= table["accuracy_high"]).all()
    lead = table.iloc[1]  # the network's lead over the baseline, on the same test rows
    assert lead["lead_accuracy"] == pytest.approx(table["accuracy"][0] - table["accuracy"][1])
    assert lead["lead_accuracy_low"] <= lead["lead_accuracy"] <= lead["lead_accuracy_high"]
    assert 0 < lead["lead_accuracy_p_value"] <= 1 and 0 < lead["mcnemar_p_value"] <= 1
    baseline = text.load("baseline_predictions")
    assert baseline["text"].tolist() == text.load("test_rows")["text"].tolist()
    assert text.catalog.exists("tweets.comparison_plot")
    predictions = text.load("test_predictions")
    probabilities = predictions[[f"probability_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert predictions["text"].tolist() == text.load("test_rows")["text"].tolist()
    metrics = text.load("model_metrics")
    assert metrics["examples"] == len(text.load("test_rows"))
    calibration = metrics["calibration"]
    assert calibration["temperature"] == text.load("model").config.temperature and calibration["bins"] == 15
    assert set(calibration["after"]) == {"negative_log_likelihood", "ece_equal_width", "ece_equal_mass"}
    assert text.catalog.exists("tweets.reliability_plot")
    low, high = metrics["confidence_intervals"]["macro_f1"]
    assert low <= metrics["macro_f1"] <= high and set(text.load("baseline_metrics")["confidence_intervals"]) == {
        "accuracy",
        "macro_f1",
        *(f"f1_{name}" for name in CLASSES),
    }
    assert (
        metrics["device"]["platform"] == "cpu"
        and metrics["compute_dtype"] == metrics["device"]["compute_dtype"] == "bfloat16"
    )


def test_explanation_attributes_the_most_confident_errors_first(text):
    text.run("explanation")
    explanations, report = text.load("explanations"), text.load("explanation_report")
    predictions = text.load("test_predictions").iloc[explanations["position"]]
    assert explanations["row"].tolist() == predictions["row"].tolist()  # the raw rows, as the predictions name them
    wrong = (predictions["label"] != predictions["predicted"]).to_numpy()
    assert len(explanations) == report["examples"] == 32 and report["errors"] == wrong.sum() > 0
    assert wrong[: report["errors"]].all() and explanations["confidence"][: report["errors"]].is_monotonic_decreasing
    lengths = text.load("test_features")["lengths"][explanations["position"]]
    assert [len(tokens) for tokens in explanations["tokens"]] == [len(a) for a in explanations["attributions"]]
    assert [len(tokens) for tokens in explanations["tokens"]] == lengths.tolist()
    sums = np.array([np.sum(a) for a in explanations["attributions"]])
    np.testing.assert_allclose(sums - explanations["logit_change"], explanations["completeness_gap"], atol=1e-5)
    assert report["max_relative_completeness_gap"] < 0.05 and report["seconds_per_example"] > 0
    page = text.load("explanations_page")
    assert page.startswith("<!DOCTYPE html>") and page.count("<li>") == 32
    assert f">{html.escape(explanations['tokens'][0][0])}</span>" in page


def test_compression_saves_int8_and_pruned_models_that_load_as_models(text):
    text.run("compression")
    original, int8, pruned = (text.load(name) for name in ("model", "model_int8", "model_pruned"))
    assert int8.config.quantization is not None and "int8" in int8.config.compression
    kernels = nnx.to_flat_state(nnx.state(int8.model, nnx.Param))
    assert {str(value.get_value().dtype) for path, value in kernels if path[-1] in ("qvalue", "values")} == {"int8"}
    matrices = [leaf for leaf in jax.tree.leaves(nnx.state(pruned.model, nnx.Param)) if leaf.ndim >= 2]
    zeros = sum(int((leaf == 0).sum()) for leaf in matrices) / sum(leaf.size for leaf in matrices)
    assert 0.49 < zeros < 0.55  # held at zero through the fine-tune
    report = text.load("compression_report")
    assert report["model"].tolist() == ["original", "int8", "pruned"]
    assert report["bytes"][1] < report["bytes"][0]  # not 4x: the members' int32 subword tables stay as they are
    assert report["nonzero_parameters"][2] < report["nonzero_parameters"][0]
    assert (report["latency_ms_batch1"] > 0).all() and report["accuracy"].between(0, 1).all()
    # The report's accuracy is each model's own on the test split: the original's as its evaluation found it.
    assert report["accuracy"][0] == pytest.approx(text.load("model_metrics")["accuracy"], abs=0.01)
    assert abs(report["accuracy"][1] - report["accuracy"][0]) < 0.05
    assert text.catalog.exists("tweets.compression_plot")
    assert original.config.quantization is None


def test_structured_pruning_of_a_model_without_units_is_one_line(text):
    task = TEXT_TASK | {"compression": {"methods": ["pruned_structured"], "throughput_seconds": 0.0}}
    with pytest.raises(Exception, match="structured pruning applies to lstm, cnn, transformer, pretrained_encoder"):
        text.renewed(task).run("compression")


def model_probabilities(text) -> np.ndarray:
    """The saved model's class probabilities of the test split, in float32 and at its temperature."""
    model = text.load("model")
    logits = predict(model.model, text.load("test_features"), Batching(64, ("ids",)))
    return softmax(np.asarray(logits, np.float64) / model.config.temperature, axis=1)


def raw_texts(text) -> list[str]:
    """The test split's texts as the raw file holds them, before cleaning."""
    rows = text.load("test_rows")["row"]
    return list(read_delimited(text.raw["filepath"]).set_index("source_line").loc[rows, "text"])


def newest(folder: str) -> Path:
    """The newest version of the versioned dataset at ``folder``."""
    path = Path(folder)
    return sorted(path.iterdir())[-1] / path.name


def test_export_runs_without_the_model_code_and_matches_the_model(text):
    text.run("export")
    report, exported = text.load("export_report"), text.load("export")
    assert report["stablehlo_max_difference"] < 1e-5 and report["onnx_max_difference"] < 1e-5
    assert set(report["bytes"]) == {"manifest.json", "model.jaxexport", "model.onnx", "tokenizer.json"}
    expected = model_probabilities(text)
    # From raw texts: the export cleans and tokenizes as training did.
    np.testing.assert_allclose(exported.predict_texts(raw_texts(text)), expected, atol=1e-5)
    features = text.load("test_features")
    _, onnx = exported.onnx_session().run(None, {"ids": features["ids"], "lengths": features["lengths"]})
    np.testing.assert_allclose(onnx, expected, atol=1e-5)
    # `export.model` picks a compressed model; ONNX does not read qwix's int8 weights, and the manifest says so.
    int8 = text.renewed(TEXT_TASK | {"export": {"model": "model_int8"}})
    int8.run("export")
    report = int8.load("export_report")
    assert report["compression"].startswith("int8") and report["onnx_error"] and "model.onnx" not in report["bytes"]
    assert report["stablehlo_max_difference"] < 0.05
    # A file of another export, or none, is refused in one line naming it.
    folder = sorted(Path("data/06_models/tweets/export").iterdir())[-2] / "export"  # the float model's
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    for broken, message in [
        (files | {"model.onnx": files["model.onnx"][:-1]}, "model.onnx: not the file this manifest describes"),
        ({name: data for name, data in files.items() if name != "tokenizer.json"}, "tokenizer.json: missing"),
        ({"model.onnx": files["model.onnx"]}, "no manifest.json"),
    ]:
        with pytest.raises(InputError, match=message):
            ExportedClassifier(broken, str(folder))


def test_inference_scores_new_rows_in_chunks_as_the_model_does(text, tmp_path):
    quoted = [value.replace('"', '""') for value in raw_texts(text)]
    lines = ["id,text", *(f'{index},"{value}"' for index, value in enumerate(quoted))]
    lines += ['bad,"   "', "bad,too,many", "bad,&nbsp;"]
    source = tmp_path / "new.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text.catalog["tweets.inference_input"] = DelimitedTextDataset(filepath=str(source), chunk_rows=40)
    text.run("inference")
    predictions, rejected = text.load("inference_predictions"), text.load("inference_rejected")
    parts = list(newest("data/07_model_output/tweets/inference_predictions.parquet").iterdir())
    assert len(parts) == -(-(len(lines) - 1) // 40)  # one part per chunk read
    assert predictions["id"].tolist() == [str(index) for index in range(len(quoted))]
    assert rejected["reason"].tolist() == ["missing_text", "parse_error", "empty_after_cleaning"]
    expected = model_probabilities(text)
    np.testing.assert_allclose(predictions[[f"probability_{c}" for c in CLASSES]].to_numpy(), expected, atol=1e-5)
    assert (predictions["predicted"] == np.asarray(CLASSES)[expected.argmax(axis=1)]).all()
    other = tmp_path / "other.csv"
    other.write_text("id,body\n1,fine\n")
    text.catalog["tweets.inference_input"] = DelimitedTextDataset(filepath=str(other), chunk_rows=40)
    with pytest.raises(InputError, match=f"^{other}: column 'text' is missing; the columns are 'id', 'body'$"):
        text.run("inference")


def test_fusion_fuses_model_versions_each_with_its_own_tokenizer(text):
    """A second model trained on a word tokenizer, then fused with the first (BPE) one; bad versions stop it."""
    if not text.catalog.exists("tweets.model"):
        for stage in ("data_processing", "split", "features", "training"):
            text.run(stage)
    second_task = TEXT_TASK | {
        "features": {"tokenizer_model": "word", "max_vocab_size": 300},
        "training": TEXT_TASK["training"] | {"model": {"name": "cnn", "embed_dim": 8, "filters": 4}},
        "fusion": {"combine": "logits"},
    }
    second = text.renewed(second_task)
    second.run("features")
    second.run("training")
    second.run("fusion")
    members = second.load("fusion_metrics")["members"]
    versions = sorted(members.values())
    assert len(versions) == 2 and sorted(name.split()[0] for name in members) == ["cnn", "ensemble"]
    table = second.load("fusion_comparison")
    assert table["model"].tolist()[0] == "fusion of 2 (logits)" and set(table["model"][1:]) == set(members)
    fused = table.iloc[0]
    for member in table.iloc[1:].itertuples():
        assert member.lead_accuracy == pytest.approx(fused["accuracy"] - member.accuracy)
    pairs = second.load("version_pairs")
    assert len(pairs) == 3 and (pairs["lead_accuracy_low"] <= pairs["lead_accuracy"]).all()
    assert second.load("fusion_predictions")["text"].tolist() == second.load("test_rows")["text"].tolist()
    assert second.catalog.exists("tweets.fusion_plot")
    # The first model, read through its own (BPE) tokenizer, scores as its evaluation did; the features stage has
    # since encoded the test split with the word tokenizer.
    first = table[table["model"].str.startswith("ensemble")].iloc[0]
    assert first["accuracy"] == text.load("model_metrics")["accuracy"]
    assert text.load("test_features")["ids"].max() < 300


def test_fusion_stops_at_a_missing_version_another_tasks_or_other_classes(text):
    models = VersionsDataset(
        filepath="data/06_models/tweets/model.safetensors", dataset="flaxline.datasets.FlaxModelDataset"
    )
    newest = models.load().newest(1)[0]
    other = Path("data/06_models/news/model.safetensors/2001-01-01T00.00.00.000Z")
    other.mkdir(parents=True)
    shutil.copy(Path("data/06_models/tweets/model.safetensors", newest, "model.safetensors"), other)
    inputs = [
        models.load(),
        *(text.catalog.load(f"tweets.{name}_versions") for name in ("encoding", "tokenizer")),
        text.load("test_rows"),
    ]
    evaluation = EvaluationParams.model_validate({"baseline": {"name": "tfidf_logistic_regression"}})
    for versions, classes, message in [
        ([newest, "2001-01-01T00.00.00.000Z"], CLASSES, "version '2001-01-01T00.00.00.000Z' belongs to another task"),
        ([newest, "2002-01-01T00.00.00.000Z"], CLASSES, "no version '2002-01-01T00.00.00.000Z'"),
        ([newest, models.load().newest(2)[1]], ["a", "b", "c"], "was trained for the classes"),
    ]:
        with pytest.raises(InputError, match=message):
            member_logits(*inputs[:3], inputs[3], classes, FusionParams(versions=versions), evaluation)


def test_a_pretrained_encoder_fine_tunes_and_distils_into_a_student(text, tmp_path):
    """A tiny random BERT checkpoint stands for MiniLM: its own tokenizer, fine-tuned, then the teacher of a cnn."""
    if not text.catalog.exists("tweets.train_rows"):
        for stage in ("data_processing", "split"):
            text.run(stage)
    words = sorted({word for line in text.load("train_rows")["text"] for word in line.lower().split()})[:300]
    folder = tmp_path / "tiny-bert"
    write_checkpoint(folder, words)
    task = TEXT_TASK | {
        "features": {"tokenizer_model": "pretrained", "pretrained": str(folder), "max_length": 32},
        "training": TEXT_TASK["training"]
        | {
            "model": {"name": "pretrained_encoder", "weights": str(folder)},
            # Every batch 32 wide: one compiled step.
            "loop": {"epochs": 1, "batch_size": 32, "length_multiple": 32},
        },
        "distillation": {"copies": 1, "throughput_seconds": 0.0},
        "student_features": {"max_vocab_size": 300},
        "student_training": {
            "model": {"name": "cnn", "embed_dim": 8, "filters": 4},
            "loop": {"epochs": 2, "length_multiple": 64},
        },
    }
    encoder = text.renewed(task)
    for stage in ("features", "training", "distillation"):
        encoder.run(stage)
    tokens = encoder.load("tokenizer").encode("a b").tokens
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert encoder.load("model").config.model.architecture.hidden_size == 16
    transfer = encoder.load("transfer_rows")
    train_rows = encoder.load("train_rows")
    assert (transfer["copy"] == 0).sum() == len(train_rows) < len(transfer)
    assert set(transfer.loc[transfer["copy"] > 0, "row"]) <= set(train_rows["row"])
    logits = encoder.load("teacher_train_logits")["logits"]
    assert logits.shape == (len(transfer), 3) and np.isfinite(logits).all()
    student = encoder.load("student.model")
    assert student.config.model.name == "cnn" and student.config.inputs.vocab_size <= 300
    assert encoder.load("student.history")["epoch"].tolist() == [1, 2]
    table = encoder.load("distillation")
    assert table["model"].tolist() == ["teacher", "student", "baseline"]
    assert table.loc[0, "name"] == "pretrained_encoder" and (table["examples_per_s"][:2] > 0).all()
    assert table.loc[1, "accuracy"] == encoder.load("student.model_metrics")["accuracy"]
    other = task | {"classes": ["negative", "positive", "neutral"]}
    with pytest.raises(Exception, match="the teacher .* predicts \\['negative', 'neutral', 'positive'\\]"):
        text.renewed(other).run("distillation")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("image_stages")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield project_catalog("digits", {"type": "flaxline.datasets.SklearnDigitsDataset"}, IMAGE_TASK)


def test_image_stages_clean_split_normalise_train_and_evaluate(images):
    for stage in ("data_processing", "split", "features", "training", "evaluation", "explanation"):
        images.run(stage)
    report = images.load("cleaning_report")
    assert report["raw_rows"] == 1797 == report["kept_rows"] + report["rejected_rows"] and report["image_shape"] == [
        8,
        8,
        1,
    ]
    train, test = images.load("train_rows"), images.load("test_rows")
    assert len(train) + len(images.load("validation_rows")) + len(test) == report["kept_rows"]
    encoding = images.load("encoding")
    train_pixels = images.load("train_features")["images"]
    assert train_pixels.dtype == np.uint8 and train_pixels.shape == (len(train), 8, 8, 1)
    assert encoding["inputs"]["mean"] == pytest.approx([train_pixels.mean()]) and encoding["inputs"][
        "std"
    ] == pytest.approx([train_pixels.std()])
    model = images.load("model")
    assert model.config.model.name == "cnn2d" and tuple(model.config.inputs.shape) == (8, 8, 1)
    metrics, baseline = images.load("model_metrics"), images.load("baseline_metrics")
    assert metrics["examples"] == len(test) and metrics["accuracy"] > 0.5
    assert baseline["model"]["name"] == "pixel_logistic_regression" and baseline["accuracy"] > 0.9
    assert metrics["confidence_intervals"]["accuracy"][0] <= metrics["accuracy"] <= 1.0
    assert images.load("test_predictions")["row"].tolist() == test["row"].tolist()
    assert images.catalog.exists("digits.misclassified_plot") and images.catalog.exists("digits.explanations_plot")
    explanations = images.load("explanations")
    assert len(explanations) == 32 and {len(pixels) for pixels in explanations["attributions"]} == {64}
    # Each row's logit change is the model's own, from a black image to the image.
    pixels = images.load("test_features")["images"][explanations["position"]]
    network = images.load("model").model
    network.eval()
    predicted = explanations["predicted"].astype(int).to_numpy()
    change = [
        np.asarray(network({"images": batch}))[np.arange(32), predicted] for batch in (pixels, np.zeros_like(pixels))
    ]
    np.testing.assert_allclose(explanations["logit_change"], change[0] - change[1], rtol=1e-4, atol=1e-4)
    assert images.load("explanation_report")["max_relative_completeness_gap"] < 0.05


def test_an_image_model_compresses_and_exports(images):
    if not images.catalog.exists("digits.model"):  # unless the test of the image stages trained it
        for stage in ("data_processing", "split", "features", "training"):
            images.run(stage)
    images.run("compression")
    report = images.load("compression_report")
    assert report["model"].tolist() == ["original", "int8", "pruned"] and report["bytes"][1] < report["bytes"][0] / 2
    assert abs(report["accuracy"][1] - report["accuracy"][0]) < 0.05
    images.run("export")
    export = images.load("export_report")
    assert export["stablehlo_max_difference"] < 1e-5 and export["onnx_max_difference"] < 1e-4
    pixels = images.load("test_features")["images"][:5]
    probabilities = images.load("export").probabilities(images=pixels)
    assert probabilities.shape == (5, 10) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_cross_validation_runs_the_stages_on_every_fold(images):
    if not images.catalog.exists("digits.train_rows"):  # unless the test of the image stages ran them
        images.run("data_processing")
        images.run("split")
    images.run("cross_validation")
    table = images.load("cross_validation")
    assert table["fold"].astype(str).tolist() == ["0", "1", "2"] * 2 + ["mean", "mean", "std", "std"]
    assert (
        table["model"].tolist()
        == ["cnn2d"] * 3 + ["pixel_logistic_regression"] * 3 + ["cnn2d", "pixel_logistic_regression"] * 2
    )
    network = table[table["model"] == "cnn2d"]
    assert network["accuracy"].iloc[3] == pytest.approx(network["accuracy"].iloc[:3].mean())
    assert network["accuracy"].iloc[4] == pytest.approx(network["accuracy"].iloc[:3].std())
    pool = pd.concat([images.load("train_rows"), images.load("validation_rows")])["row"]
    tested = pd.concat([images.load(f"fold_{fold}_test_rows")["row"] for fold in range(3)])
    assert sorted(tested) == sorted(pool)  # every row tested once
    for fold in range(3):
        trained_on = set(images.load(f"fold_{fold}_train_rows")["row"]) | set(
            images.load(f"fold_{fold}_validation_rows")["row"]
        )
        assert not trained_on & set(images.load(f"fold_{fold}_test_rows")["row"])
        assert images.load(f"fold_{fold}_model_metrics")["examples"] == len(images.load(f"fold_{fold}_test_rows"))
    assert images.catalog.exists("digits.cross_validation_plot")


RATING_TASK = {
    "kind": "rating_prediction",
    "training": {
        "model": {"name": "biased_mf", "factors": 4},
        "optimizer": {"learning_rate": 0.02},
        "loop": {"epochs": 3, "batch_size": 64},
        "checkpoint": {"directory": None},
    },
    "evaluation": {"recommend_users": 2, "recommendations": 3},
}


@pytest.fixture(scope="module")
def ratings(tmp_path_factory):
    root = tmp_path_factory.mktemp("rating_stages")
    rng = np.random.default_rng(0)
    lines = ["userId,movieId,rating,timestamp"] + [
        f"{rng.integers(1, 21)},{rng.integers(1, 31)},{rng.integers(1, 11) / 2},{1000 + index}" for index in range(600)
    ]
    (root / "ml").mkdir()
    (root / "ml" / "ratings.csv").write_text("\n".join(lines) + "\n")
    (root / "ml" / "movies.csv").write_text(
        "movieId,title\n" + "".join(f"{item},Film {item}\n" for item in range(1, 31))
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield project_catalog(
            "movielens", {"type": "flaxline.datasets.GroupLensDataset", "filepath": str(root / "ml")}, RATING_TASK
        )


def test_rating_stages_clean_split_map_ids_train_evaluate_and_recommend(ratings):
    for stage in ("data_processing", "split", "features", "training", "evaluation"):
        ratings.run(stage)
    report = ratings.load("cleaning_report")
    assert report["raw_rows"] == 600 == report["kept_rows"] + report["rejected_rows"]
    assert set(ratings.load("rejected")["reason"]) <= {"duplicate"}  # random pairs repeat; the latest is kept
    train_rows = ratings.load("train_rows")
    assert ratings.load("id_maps")["users"] == sorted(train_rows["user"].unique())
    metrics, baseline = ratings.load("model_metrics"), ratings.load("baseline_metrics")
    assert metrics["model"]["name"] == "biased_mf" and baseline["model"]["name"] == "biases"
    assert (
        0 < metrics["rmse"] < 3
        and 0 < metrics["ndcg_at_10"] <= 1
        and metrics["cold_start"]["test_ratings"] == len(ratings.load("test_rows"))
    )
    predictions = ratings.load("test_predictions")
    assert predictions["predicted"].between(0.5, 5.0).all() and "baseline_predicted" in predictions
    recommendations = ratings.load("recommendations")
    assert (
        recommendations["rank"].tolist() == [1, 2, 3, 1, 2, 3] and recommendations["title"].str.startswith("Film").all()
    )
    for user, listed in recommendations.groupby("user"):
        assert not set(listed["item"]) & set(
            train_rows.loc[train_rows["user"] == user, "item"]
        )  # nothing already rated
    assert ratings.catalog.exists("movielens.error_by_activity_plot")
    chosen = RatingEvaluationParams(recommend_for=(3, "999"), recommendations=4)
    any_users = recommend_items(
        *(ratings.load(name) for name in ("model", "id_maps", "train_rows", "encoding")), chosen
    )
    assert any_users["user"].tolist() == ["3"] * 4 + ["999"] * 4  # 999 never rated: the items' biases rank for it
    assert not set(any_users.loc[any_users["user"] == "3", "item"]) & set(
        train_rows.loc[train_rows["user"] == "3", "item"]
    )
