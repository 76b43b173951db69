"""Nodes of the training stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from kedro.utils import find_kedro_project

from flaxline.engine.checkpoints import CheckpointSpec, run_checkpoints
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.inputs import Encoding
from flaxline.models.serialization import ModelArtifact


class TrainingParams(TrainingSpec):
    """A model of the zoo trained by the engine, and the run's checkpoints."""

    checkpoint: CheckpointSpec = CheckpointSpec()


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    encoding: dict,
    classes: list[str],
    parameters: TrainingParams,
) -> tuple[ModelArtifact, pd.DataFrame]:
    """Build the configured model for the features' inputs, train it with early stopping, return it with its history.

    With ``checkpoint.directory`` set, the run checkpoints into a folder named by the fingerprint
    of its parameters and data, and continues from there if an earlier run with the same
    fingerprint died. The model names the folder: ``CheckpointCleanupHooks`` deletes it once saved.
    """
    described = Encoding.model_validate(encoding)
    data = TrainingData(train_features, validation_features, described.token_arrays)
    run = [parameters.model_dump(mode="json", exclude={"checkpoint"}), list(classes), encoding]
    # Like the catalog's paths, relative to the project, wherever `kedro run` was started in it.
    root = find_kedro_project(Path.cwd()) or Path.cwd()
    with run_checkpoints(parameters.checkpoint, root, run, data.arrays()) as checkpoints:
        model, config, history = train(parameters, data, described.inputs, len(classes), checkpoints)
    folder = checkpoints.directory if checkpoints is not None else None
    return ModelArtifact(model, config, checkpoint_folder=folder), pd.DataFrame(history)
