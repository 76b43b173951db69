"""A crafted pickle placed where an artifact is expected is refused, and its payload never runs."""

import pickle

import pytest
from flax import nnx
from kedro.io import DatasetError

from flaxline.datasets import FlaxModelDataset, NpzDataset, TokenizerDataset
from flaxline.engine.checkpoints import TrainingCheckpoints
from flaxline.errors import InputError
from tests.test_engine import lstm


def exploit_bytes(marker):
    class Exploit:
        def __reduce__(self):
            return (marker.write_text, ("executed",))

    return pickle.dumps(Exploit())


@pytest.mark.parametrize(
    "dataset_type, name, message",
    [
        (FlaxModelDataset, "model.safetensors", "not a safetensors file"),
        (TokenizerDataset, "tokenizer.json", "not a tokenizer JSON file"),
        (NpzDataset, "train.npz", "not a readable npz file"),
    ],
)
def test_a_pickle_where_an_artifact_is_expected_is_refused_unexecuted(tmp_path, dataset_type, name, message):
    marker = tmp_path / "marker"
    path = tmp_path / name
    path.write_bytes(exploit_bytes(marker))
    with pytest.raises(DatasetError, match=f"{path}: {message}"):
        dataset_type(filepath=str(path)).load()
    assert not marker.exists()


def test_a_pickle_inside_a_checkpoint_is_refused_unexecuted(tmp_path):
    model = lstm()
    params = nnx.state(model, nnx.Param)
    checkpoints = TrainingCheckpoints(tmp_path / "run")
    checkpoints.save(7, {"params": params}, {"epoch": 1})
    checkpoints.close()
    marker = tmp_path / "marker"
    for file in (tmp_path / "run" / "7").rglob("*"):
        if file.is_file():
            file.write_bytes(exploit_bytes(marker))
    with pytest.raises(
        InputError, match=r"run/7: unreadable checkpoint \(.+\); delete the folder or set checkpoint.resume: false"
    ):
        TrainingCheckpoints(tmp_path / "run").restore_latest({"params": params})
    assert not marker.exists()
