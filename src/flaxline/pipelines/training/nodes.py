"""Nodes of the training stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from kedro.utils import find_kedro_project

from flaxline.engine.batching import Batching, example_count
from flaxline.engine.checkpoints import CheckpointSpec, run_checkpoints
from flaxline.engine.inference import predict
from flaxline.engine.loop import TrainingData
from flaxline.engine.train import TrainingSpec, train
from flaxline.evaluation.calibration import fit_temperature
from flaxline.inputs import Encoding, encoding_digest
from flaxline.models.serialization import ModelArtifact


class TrainingParams(TrainingSpec):
    """A model of the zoo trained by the engine, and the run's checkpoints."""

    checkpoint: CheckpointSpec = CheckpointSpec()


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    encoding: dict,
    parameters: TrainingParams,
) -> tuple[ModelArtifact, pd.DataFrame, dict]:
    """Build the configured model for the features' inputs and train it with early stopping; the model, its history
    and a report of the run (where it trained, how long, how fast). A classifier's temperature is then fitted on
    the validation split (docs/evaluation.md) and saved with it.

    With ``checkpoint.directory`` set, the run checkpoints into a folder named by the fingerprint
    of its parameters and data, and continues from there if an earlier run with the same
    fingerprint died. The model names the folder: ``CheckpointCleanupHooks`` deletes it once saved.
    """
    described = Encoding.model_validate(encoding)
    data = TrainingData(train_features, validation_features, described.token_arrays)
    run = [parameters.model_dump(mode="json", exclude={"checkpoint"}), encoding]
    # Like the catalog's paths, relative to the project, wherever `kedro run` was started in it.
    root = find_kedro_project(Path.cwd()) or Path.cwd()
    with run_checkpoints(parameters.checkpoint, root, run, data.arrays()) as checkpoints:
        trained = train(parameters, data, described.inputs, described.outputs, checkpoints)
    folder = checkpoints.directory if checkpoints is not None else None
    last = trained.history[-1]
    report = {
        "device": trained.placement.describe(),
        "epochs_run": len(trained.history),
        "train_seconds": sum(record["train_seconds"] for record in trained.history),
        "last_epoch_train_examples_per_second": example_count(train_features) / last["train_seconds"],
    }
    config = trained.config.model_copy(
        update={"classes": described.classes, "encoding_digest": encoding_digest(encoding)}
    )
    if parameters.loss.name in ("softmax_cross_entropy", "distillation"):  # a classifier: calibrated
        batching = Batching(parameters.loop.eval_batch_size, described.token_arrays, parameters.loop.length_multiple)
        logits = np.asarray(predict(trained.model, validation_features, batching))
        config = config.model_copy(update={"temperature": fit_temperature(logits, validation_features["labels"])})
        report["temperature"] = config.temperature
    return ModelArtifact(trained.model, config, checkpoint_folder=folder), pd.DataFrame(trained.history), report
