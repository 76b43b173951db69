"""Nodes of the training stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from flaxline.engine.batching import EncodedSplit, steps_per_epoch
from flaxline.engine.optim import build_optimizer
from flaxline.engine.trainer import TrainingConfig, fit
from flaxline.models import build_model
from flaxline.models.serialization import ModelArtifact


def train_model(
    train_features: dict[str, np.ndarray],
    validation_features: dict[str, np.ndarray],
    tokenizer: Tokenizer,
    classes: list[str],
    parameters: dict,
) -> tuple[ModelArtifact, pd.DataFrame]:
    """Build the configured model, train it with early stopping on validation loss, and return it with its history."""
    config = TrainingConfig(**parameters["loop"])
    model_config = {
        "name": parameters["model"]["name"],
        "vocab_size": tokenizer.get_vocab_size(),
        "num_classes": len(classes),
        "seed": config.seed,
        **{key: value for key, value in parameters["model"].items() if key != "name"},
    }
    model = build_model(**model_config)
    train, validation = EncodedSplit(**train_features), EncodedSplit(**validation_features)
    total_steps = config.epochs * steps_per_epoch(len(train), config.batch_size, config.bucket_window_batches)
    tx = build_optimizer(total_steps=total_steps, **parameters["optimizer"])
    history = fit(model, tx, train, validation, config)
    return ModelArtifact(model, model_config), pd.DataFrame(history)
