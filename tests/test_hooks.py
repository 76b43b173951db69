import copy
import logging

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import node, pipeline

from flaxline.errors import InputError
from flaxline.hooks import STAGE_PARAMETER_CHECKS, CheckpointCleanupHooks, ParameterCheckHooks, StageTimingHooks
from flaxline.models.serialization import ModelArtifact
from flaxline.settings import CONFIG_LOADER_ARGS
from tests.conftest import PROJECT_ROOT, kedro_run, make_small_project


def identity(x):
    return x


def test_one_summary_line_per_task_stage(caplog):
    hooks = StageTimingHooks()
    nodes = [
        node(identity, "a", "b", name="clean", tags="data_processing", namespace="tweets"),
        node(identity, "b", "c", name="fit", tags="training", namespace="tweets"),
        node(identity, "c", "d", name="again", tags="training", namespace="tweets"),
    ]
    hooks.before_pipeline_run()
    for each in nodes:
        hooks.before_node_run(each)
        hooks.after_node_run(each)
    with caplog.at_level(logging.INFO, logger="flaxline.hooks"):
        hooks.after_pipeline_run()
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(":")[0] for line in lines] == ["stage tweets.data_processing", "stage tweets.training"]
    assert all(line.endswith(" s") for line in lines)


def test_a_runs_checkpoints_are_deleted_once_its_model_is_saved(tmp_path):
    folder = tmp_path / "checkpoints" / "0123abcd"
    (folder / "8").mkdir(parents=True)
    hooks = CheckpointCleanupHooks()
    hooks.after_dataset_saved(data={"not": "a model"})
    assert folder.exists()
    hooks.after_dataset_saved(data=ModelArtifact(model=None, config={}, checkpoint_folder=folder))
    assert not folder.exists() and list((tmp_path / "checkpoints").iterdir()) == []


def project_parameters() -> dict:
    return OmegaConfigLoader(conf_source=str(PROJECT_ROOT / "conf"), **CONFIG_LOADER_ARGS)["parameters"]


def check_run(parameters: dict) -> None:
    """``ParameterCheckHooks`` before a run of every stage of every task in ``parameters``."""
    blocks = [f"{task}.{stage}" for task in parameters["tasks"] for stage in STAGE_PARAMETER_CHECKS]
    stages = pipeline([node(identity, f"params:{block}", f"{block.replace('.', '_')}_checked", name=block.replace(".", "_")) for block in blocks])
    catalog = DataCatalog({f"params:{block}": MemoryDataset(parameters[block.split(".")[0]][block.split(".")[1]]) for block in blocks})
    ParameterCheckHooks().before_pipeline_run(pipeline=stages, catalog=catalog)


def test_the_projects_own_parameters_pass_the_checks():
    check_run(project_parameters())


BAD_PARAMETERS = [
    ("sst2.evaluation", ("compute_dtype",), "int8", "compute_dtype must be one of float32, bfloat16, float16, not 'int8'"),
    ("sst2.evaluation", ("baseline", "ngram"), 3, "unknown baseline setting 'ngram'; known: ngram_max, min_df, sublinear_tf, C, max_iter"),
    ("tweets.features", ("tokenizer_model",), "wordpiece", "unknown tokenizer model 'wordpiece'; known: word, bpe"),
    ("tweets.features", ("pre_tokenizer",), "spaces", "unknown pre_tokenizer 'spaces'; known: "),
    ("tweets.training", ("loop", "epoch"), 3, "unknown loop setting 'epoch'; known: epochs, batch_size"),
    ("tweets.training", ("loop", "on_nonfinite"), "ignore", "unknown on_nonfinite 'ignore'; known: stop, skip"),
    ("tweets.training", ("loop", "compute_dtype"), "fp8", "compute_dtype must be one of float32, bfloat16, float16, not 'fp8'"),
    ("tweets.training", ("optimizer", "lr"), 0.1, "unknown optimizer setting 'lr'; known: name, learning_rate, schedule"),
    ("tweets.training", ("optimizer", "name"), "lion", "unknown optimizer 'lion'; known optimizers: sgd, momentum, adam, adamw"),
    ("tweets.training", ("model", "name"), "gru", "unknown model 'gru'; known models: "),
    ("sst2.evaluation", ("compute_dype",), "bfloat16", "unknown setting 'compute_dype'; known: batch_size, compute_dtype, baseline"),
    ("tweets.features", ("tokeniser_model",), "bpe", "unknown setting 'tokeniser_model'; known: lowercase, pre_tokenizer"),
    ("tweets.training", ("checkpoint", "every_step"), 10, "unknown checkpoint setting 'every_step'; known: directory, every_steps"),
    ("tweets.training", ("loop",), None, "loop settings must be a mapping of names to values, not None"),
    ("tweets.training", ("model", "hiden_dim"), 3, "model 'lstm': LSTMClassifier.__init__() got an unexpected keyword argument 'hiden_dim'"),
]


@pytest.mark.parametrize(("block", "keys", "value", "message"), BAD_PARAMETERS, ids=lambda v: ".".join(v) if isinstance(v, tuple) else None)
def test_a_bad_setting_of_any_stage_is_one_line_naming_its_block_before_any_node_runs(block, keys, value, message):
    parameters = copy.deepcopy(project_parameters())
    task, stage = block.split(".")
    settings = parameters[task][stage]
    for key in keys[:-1]:
        settings = settings[key]
    settings[keys[-1]] = value
    with pytest.raises(InputError) as raised:
        check_run(parameters)
    assert str(raised.value).startswith(f"parameters '{block}': {message}")
    assert "\n" not in str(raised.value)


def test_a_missing_setting_is_named():
    parameters = copy.deepcopy(project_parameters())
    del parameters["tweets"]["features"]["max_length"]
    with pytest.raises(InputError, match=r"^parameters 'tweets.features': missing setting 'max_length'$"):
        check_run(parameters)


def test_kedro_run_stops_on_a_bad_evaluation_setting_before_training(tmp_path):
    root = make_small_project(tmp_path, rows=10)
    returncode, output = kedro_run(root, "--env", "test", "--params", "tweets.evaluation.compute_dtype=int8")
    assert returncode == 1, output
    line = "Error: parameters 'tweets.evaluation': compute_dtype must be one of float32, bfloat16, float16, not 'int8'"
    assert line in output.splitlines(), output
    assert "Loading data from tweets.raw" not in output and "Traceback" not in output, output  # no node ran
