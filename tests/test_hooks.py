import logging

from kedro.pipeline import node

from flaxline.hooks import CheckpointCleanupHooks, StageTimingHooks
from flaxline.models.serialization import ModelArtifact


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
    hooks.after_dataset_saved(data=ModelArtifact(model=None, config=None, checkpoint_folder=folder))
    assert not folder.exists() and list((tmp_path / "checkpoints").iterdir()) == []
