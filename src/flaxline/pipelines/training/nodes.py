"""Nodes of the training stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from kedro.utils import find_kedro_project

from flaxline.config import validated
from flaxline.engine.checkpoints import CheckpointSpec, open_run_checkpoints, run_fingerprint
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.models import ModelInputs
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
    data = TrainingData(train_features, validation_features, tuple(encoding.get("token_arrays", ())))
    arrays = {f"train.{k}": v for k, v in train_features.items()} | {
        f"validation.{k}": v for k, v in validation_features.items()
    }
    settings = [parameters.model_dump(mode="json", exclude={"checkpoint"}), list(classes), encoding]
    # Like the catalog's paths, relative to the project, wherever `kedro run` was started in it.
    root = find_kedro_project(Path.cwd()) or Path.cwd()
    checkpoints = open_run_checkpoints(parameters.checkpoint, root, run_fingerprint(settings, arrays))
    try:
        model, config, history = train(
            parameters, data, validated(ModelInputs, encoding["inputs"], "encoding"), len(classes), checkpoints
        )
    finally:
        if checkpoints is not None:
            checkpoints.close()
    folder = checkpoints.directory if checkpoints is not None else None
    return ModelArtifact(model, config, checkpoint_folder=folder), pd.DataFrame(history)
