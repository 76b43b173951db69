"""Nodes of the training stage."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from flax import nnx
from kedro.utils import find_kedro_project
from tokenizers import Tokenizer

from flaxline.engine.batching import EncodedSplit, steps_per_epoch
from flaxline.engine.checkpoints import TrainingCheckpoints, run_fingerprint
from flaxline.engine.optim import build_optimizer
from flaxline.engine.trainer import TrainingConfig, fit
from flaxline.errors import check_known_settings, check_settings, require_settings
from flaxline.models import build_model
from flaxline.models.serialization import ModelArtifact
from flaxline.text.tokenizer import vocabulary


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    tokenizer: Tokenizer,
    classes: list[str],
    parameters: dict,
) -> tuple[ModelArtifact, pd.DataFrame]:
    """Build the configured model, train it with early stopping on validation loss, and return it with its history.

    With ``checkpoint.directory`` set (relative to the project), the run checkpoints into a folder
    named by the fingerprint of its parameters and data, and continues from there if an earlier
    run with the same fingerprint died (unless ``checkpoint.resume`` is false). The model names
    the folder: ``CheckpointCleanupHooks`` deletes it once the model is saved.
    """
    config = _loop_config(parameters)
    model_config = _model_config(parameters, tokenizer.get_vocab_size(), len(classes), config.seed)
    model = build_model(**model_config, vocabulary=vocabulary(tokenizer))
    train, validation = EncodedSplit(**train_features), EncodedSplit(**validation_features)
    total_steps = config.epochs * steps_per_epoch(len(train), config.batch_size, config.bucket_window_batches)
    tx = build_optimizer(total_steps=total_steps, **parameters["optimizer"])
    checkpoints = _run_checkpoints(parameters, classes, train_features, validation_features, tokenizer)
    if checkpoints is None:
        return ModelArtifact(model, model_config), pd.DataFrame(fit(model, tx, train, validation, config))
    try:
        history = fit(model, tx, train, validation, config, checkpoints)
    finally:
        checkpoints.close()
    return ModelArtifact(model, model_config, checkpoint_folder=checkpoints.directory), pd.DataFrame(history)


def check_parameters(parameters: dict) -> None:
    """Raise the one-line error this stage would raise for ``parameters``, before any data is read or any step run.

    The model is built abstractly (shapes only), so even a large one costs nothing here.
    """
    config = _loop_config(parameters)
    require_settings(parameters["model"], ("name",), "model")
    nnx.eval_shape(lambda: build_model(**_model_config(parameters, vocab_size=2, num_classes=2, seed=config.seed)))
    require_settings(parameters["optimizer"], ("name", "learning_rate"), "optimizer")
    check_settings(build_optimizer, parameters["optimizer"], "optimizer", passed_by_code=("total_steps",))
    build_optimizer(total_steps=1, **parameters["optimizer"])


def _loop_config(parameters: dict) -> TrainingConfig:
    check_known_settings(parameters, ("model", "optimizer", "loop", "checkpoint"))
    check_known_settings(parameters.get("checkpoint") or {}, ("directory", "every_steps", "keep", "resume"), "checkpoint")
    require_settings(parameters, ("model", "optimizer", "loop"))
    check_settings(TrainingConfig, parameters["loop"], "loop")
    return TrainingConfig(**parameters["loop"])


def _model_config(parameters: dict, vocab_size: int, num_classes: int, seed: int) -> dict:
    """What ``build_model`` takes, and the saved model records: the parameters' model block with the data's sizes."""
    return {
        "name": parameters["model"]["name"],
        "vocab_size": vocab_size,
        "num_classes": num_classes,
        "seed": seed,
        **{key: value for key, value in parameters["model"].items() if key != "name"},
    }


def _run_checkpoints(
    parameters: dict, classes: list[str], train_features: dict, validation_features: dict, tokenizer: Tokenizer
) -> TrainingCheckpoints | None:
    settings = parameters.get("checkpoint") or {}
    if not settings.get("directory"):
        return None
    run_settings = {key: value for key, value in parameters.items() if key != "checkpoint"}
    arrays = {f"train.{k}": v for k, v in train_features.items()} | {f"validation.{k}": v for k, v in validation_features.items()}
    fingerprint = run_fingerprint([run_settings, classes, tokenizer.to_str()], arrays)
    # Like the catalog's paths, relative to the project, wherever `kedro run` was started in it.
    directory = (find_kedro_project(Path.cwd()) or Path.cwd()) / settings["directory"] / fingerprint
    if not settings.get("resume", True):
        shutil.rmtree(directory, ignore_errors=True)
    return TrainingCheckpoints(directory, settings.get("every_steps", 0), settings.get("keep", 2))
