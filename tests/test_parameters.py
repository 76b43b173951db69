"""Typed parameters: every block is validated by Kedro (before the first node) against its settings class;
a bad value is one line naming the block and the key. Tasks inherit their kind's defaults."""

from __future__ import annotations

import shutil

import pytest
from kedro.validation.exceptions import ParameterValidationError
from kedro.validation.parameter_validator import ParameterValidator

from flaxline.cli import parameter_error_line
from flaxline.config_loader import TaskConfigLoader
from flaxline.errors import InputError
from flaxline.hooks import SessionConfigHooks, typed_parameters_hook
from flaxline.kinds import declaration as declaration_of
from flaxline.kinds import merged, task_parameters
from flaxline.pipeline_registry import register_pipelines
from flaxline.pipelines.training.nodes import TrainingParams
from flaxline.settings import CONFIG_LOADER_ARGS
from tests.conftest import PROJECT_ROOT, kedro_run, make_small_project


def nested(dotted: str, value) -> dict:
    *parents, leaf = dotted.split(".")
    result = {leaf: value}
    for part in reversed(parents):
        result = {part: result}
    return result


def validated(runtime: dict | None = None, monkeypatch=None) -> dict:
    """The project's parameters with ``runtime`` ones (as ``kedro run --params``), validated as Kedro does before a
    run."""
    loader = TaskConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"), runtime_params=runtime or {}, **CONFIG_LOADER_ARGS
    )
    monkeypatch.setattr(SessionConfigHooks, "config_loader", loader)
    pipelines = register_pipelines()
    return ParameterValidator(
        {name: pipelines[name] for name in ("tweets", "sst2", "digits", "mnist", "fashion_mnist")}
    ).validate_raw_params(loader["parameters"])


def test_the_projects_own_parameters_validate_and_fill_in_the_defaults(monkeypatch):
    parameters = validated(monkeypatch=monkeypatch)
    training = parameters["tweets"]["training"]
    assert (training.model.name, training.model.hidden_dim, training.model.pooling) == ("lstm", 128, "last")
    assert (training.loop.epochs, training.loop.batch_size, training.loop.patience) == (8, 32, 2)
    assert parameters["digits"]["training"].model.name == "cnn2d" and parameters["digits"]["split"].strategy == "auto"
    assert parameters["sst2"]["evaluation"].baseline.name == "tfidf_logistic_regression"
    assert parameters["mnist"]["evaluation"].baseline.name == "pixel_logistic_regression"
    assert parameters["digits"]["classes"] == [str(digit) for digit in range(10)]


def test_runtime_parameters_override_single_keys(monkeypatch):
    parameters = validated(
        nested("tweets.training.loop.epochs", 3) | nested("digits.training.model", {"name": "resnet"}), monkeypatch
    )
    assert parameters["tweets"]["training"].loop.epochs == 3 and parameters["tweets"]["training"].loop.batch_size == 32
    assert parameters["digits"]["training"].model.name == "resnet" and parameters["digits"][
        "training"
    ].model.widths == (16, 32, 64)


BAD = [
    ("tweets.evaluation.compute_dtype", "int8", "compute_dtype: 'int8' is not one of auto, float32, bfloat16, float16"),
    (
        "sst2.evaluation.baseline.ngram",
        3,
        "baseline: unknown setting 'ngram' of tfidf_logistic_regression; known: name, ngram_max",
    ),
    ("tweets.features.tokenizer_model", "wordpiece", "tokenizer_model: 'wordpiece' is not one of word, bpe"),
    ("tweets.features.pre_tokenizer", "spaces", "pre_tokenizer: 'spaces' is not one of whitespace, whitespace_split"),
    ("tweets.training.loop.epoch", 3, "loop: unknown setting 'epoch'; known: epochs, batch_size"),
    ("tweets.training.loop.on_nonfinite", "ignore", "loop.on_nonfinite: 'ignore' is not one of stop, skip"),
    (
        "tweets.training.loop.epochs",
        "three",
        "loop.epochs: input should be a valid integer, unable to parse string as an integer, not 'three'",
    ),
    ("tweets.training.optimizer.lr", 0.1, "optimizer: unknown setting 'lr'; known: name, learning_rate"),
    ("tweets.training.optimizer.name", "lion", "optimizer.name: 'lion' is not one of sgd, momentum, adam, adamw"),
    ("tweets.training.model.name", "gru", "model: unknown name 'gru'; known: lstm, bilstm_attention"),
    (
        "tweets.training.model.hiden_dim",
        3,
        "model: unknown setting 'hiden_dim' of lstm; known: name, embed_dim, hidden_dim",
    ),
    (
        "tweets.evaluation.compute_dype",
        "bfloat16",
        "unknown setting 'compute_dype'; known: batch_size, length_multiple, compute_dtype, baseline",
    ),
    ("tweets.features.tokeniser_model", "bpe", "unknown setting 'tokeniser_model'; known: lowercase, pre_tokenizer"),
    (
        "tweets.training.checkpoint.every_step",
        10,
        "checkpoint: unknown setting 'every_step'; known: directory, every_steps",
    ),
    ("tweets.training.loop", None, "loop: must be a mapping of settings, not None"),
    ("tweets.split.strategy", "random", "strategy: 'random' is not one of auto, stratified, predefined"),
    ("tweets.data_processing.policy.urls", "drop", "policy.urls: 'drop' is not one of keep, replace, remove"),
    (
        "digits.data_processing.max_rejected_fraction",
        {"typo": 0.1},
        "max_rejected_fraction: unknown reason 'typo'; known: unreadable_image",
    ),
    (
        "digits.training.model.augmentation.rotation",
        400,
        "model.augmentation.rotation: input should be less than or equal to 180, not 400",
    ),
]


@pytest.mark.parametrize(("key", "value", "problem"), BAD, ids=[key for key, _, _ in BAD])
def test_a_bad_setting_is_one_line_naming_its_block_and_key(key, value, problem, monkeypatch):
    with pytest.raises(ParameterValidationError) as raised:
        validated(nested(key, value), monkeypatch)
    block = ".".join(key.split(".")[:2])
    line = parameter_error_line(raised.value)
    assert "\n" not in line
    assert line.startswith(f"parameters '{block}': {problem}"), line


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"classes": ["a", "b"]}, "task 'news': missing setting 'kind'"),
        (
            {"kind": "audio", "classes": ["a", "b"]},
            "task 'news': kind: 'audio' is not one of text_classification, image_classification",
        ),
        ({"kind": "text_classification"}, "task 'news': missing setting 'classes'"),
        ({"kind": "text_classification", "classes": ["a"]}, "task 'news': classes: list should have at least 2 items"),
        (
            {"kind": "text_classification", "classes": ["a", "a"]},
            "task 'news': classes: the labels must differ, not ['a', 'a']",
        ),
        (
            {"kind": "text_classification", "classes": ["a", "b"], "default": "maybe"},
            "task 'news': default: input should be a valid boolean",
        ),
        (
            {"kind": "text_classification", "classes": ["a", "b"], "trainig": {}},
            "task 'news': unknown block 'trainig'; a task of kind text_classification has kind, default, classes, "
            "data_processing",
        ),
        (
            {"kind": "image_classification", "classes": ["a", "b"], "features": {"bogus": 1}},
            "task 'news': unknown block 'features'; a task of kind image_classification has kind, default, classes, "
            "data_processing, split, training, evaluation",
        ),
    ],
)
def test_a_bad_task_declaration_is_one_line_naming_the_task(declaration, message):
    with pytest.raises(InputError) as raised:
        task_parameters("news", declaration)
    assert str(raised.value).startswith(message), str(raised.value)
    with pytest.raises(InputError, match="^task 'news': its declaration must be a mapping with a kind, not 'text'$"):
        declaration_of("news", [{"tasks": {"news": "text"}}])


def test_a_task_of_four_lines_inherits_everything_else():
    parameters = task_parameters("news", {"kind": "text_classification", "classes": ["World", "Sports"]})
    assert parameters == {
        "data_processing": {},
        "split": {},
        "features": {},
        "training": {"model": {"name": "lstm"}},
        "evaluation": {"baseline": {"name": "tfidf_logistic_regression"}},
        "explanation": {},
        "cross_validation": {},
        "fusion": {},
        "distillation": {},
        "student_features": {},
        "student_training": {
            "model": {"name": "bilstm_attention"},
            "loss": {"name": "distillation"},
            "optimizer": {"learning_rate": 0.001, "clip_global_norm": 1.0},
            "loop": {"epochs": 4, "batch_size": 64},
        },
        "compression": {},
        "export": {},
        "inference": {},
        "classes": ["World", "Sports"],
    }


def test_merging_replaces_a_choice_that_names_another_option_and_merges_everything_else():
    base = {"model": {"name": "lstm", "hidden_dim": 128}, "optimizer": {"name": "adam", "clip_global_norm": 1.0}}
    assert merged(base, {"model": {"hidden_dim": 64}}) == base | {"model": {"name": "lstm", "hidden_dim": 64}}
    assert merged(base, {"model": {"name": "cnn", "filters": 8}})["model"] == {"name": "cnn", "filters": 8}
    # An optimizer is one settings class: another name keeps the task's other optimizer settings.
    assert merged(base, {"optimizer": {"name": "adamw"}})["optimizer"] == {"name": "adamw", "clip_global_norm": 1.0}


def test_an_environment_or_runtime_parameters_may_switch_a_choice(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf, ignore=shutil.ignore_patterns("local"))
    (conf / "local").mkdir()
    (conf / "local" / "parameters.yml").write_text(
        "tasks:\n  tweets:\n    training:\n      model: {name: transformer, dim: 32}\n"
    )
    parameters = TaskConfigLoader(conf_source=str(conf), **CONFIG_LOADER_ARGS)["parameters"]
    assert parameters["tweets"]["training"]["model"] == {"name": "transformer", "dim": 32}
    assert parameters["tweets"]["training"]["loop"] == {"epochs": 8, "batch_size": 32}  # the rest from base
    runtime = nested("tasks.tweets.training.model", {"name": "cnn"})
    parameters = TaskConfigLoader(conf_source=str(conf), runtime_params=runtime, **CONFIG_LOADER_ARGS)["parameters"]
    assert parameters["tweets"]["training"]["model"] == {"name": "cnn"}


def test_several_bad_blocks_are_one_line_naming_the_first():
    report = ParameterValidationError(
        "Parameter validation failed:\n"
        "- Parameter 'tweets.training': Failed to instantiate TrainingParams for parameter 'tweets.training': "
        "loop: unknown setting 'epoch'\n"
        "- Parameter 'sst2.split': Failed to instantiate SplitParams for parameter 'sst2.split': "
        "seed: input should be a valid integer"
    )
    line = "parameters 'tweets.training': loop: unknown setting 'epoch' (and 1 more blocks)"
    assert parameter_error_line(report) == line


def test_mlflow_logs_typed_blocks_as_the_mappings_they_were_written_as():
    from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

    logged = {}

    class Recording(MlflowHook):
        def before_node_run(self, node, catalog, inputs, is_async):
            logged.update(inputs)

    hook = typed_parameters_hook(Recording)()
    training = TrainingParams.model_validate({"model": {"name": "lstm"}, "loop": {"epochs": 2}})
    hook.before_node_run(node=None, catalog=None, inputs={"params:t.training": training, "t.raw": 1}, is_async=False)
    assert logged["params:t.training"]["loop"]["epochs"] == 2 and logged["t.raw"] == 1


def test_the_parameter_reference_is_up_to_date():
    from flaxline.reference import reference

    committed = (PROJECT_ROOT / "docs" / "parameters.md").read_text()
    assert committed == reference(), "run: uv run python -m flaxline.reference > docs/parameters.md"


@pytest.mark.slow
def test_kedro_run_stops_on_a_bad_setting_before_any_node_in_one_line(tmp_path):
    root = make_small_project(tmp_path, rows=10)
    returncode, output = kedro_run(root, "--env", "test", "--params", "tweets.evaluation.compute_dtype=int8")
    assert returncode == 1, output
    line = "Error: parameters 'tweets.evaluation': compute_dtype: 'int8' is not one of auto, float32, bfloat16, float16"
    errors = [text for text in output.splitlines() if "error" in text.lower()]
    assert errors == [line], output  # the line alone: Kedro's own report of the block is not logged
    assert "Loading data from tweets.raw" not in output and "Traceback" not in output, output  # no node ran
