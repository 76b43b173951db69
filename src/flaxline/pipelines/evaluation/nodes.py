"""Nodes of the evaluation stage."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from flaxline.engine.trainer import predict_logits, resolve_compute_dtype
from flaxline.errors import check_known_settings, check_settings, require_settings
from flaxline.evaluation.baseline import fit_tfidf_logistic_regression
from flaxline.evaluation.figures import confusion_matrix_figure, learning_curves_figure
from flaxline.evaluation.metrics import classification_metrics, comparison_table, predictions_frame, softmax
from flaxline.models.serialization import ModelArtifact

logger = logging.getLogger(__name__)


def evaluate_model(
    model: ModelArtifact, test_features: dict[str, np.ndarray], test_text: pd.DataFrame, classes: list[str], parameters: dict
) -> tuple[dict, pd.DataFrame]:
    """The network's classification report on the test split, and its predictions with class probabilities."""
    compute_dtype = parameters.get("compute_dtype", "float32")
    logits = predict_logits(model.model, test_features["ids"], test_features["lengths"], parameters["batch_size"], compute_dtype=compute_dtype)
    probabilities = softmax(logits)
    labels = test_features["labels"]
    metrics = classification_metrics(labels, probabilities.argmax(axis=1), list(classes))
    metrics["model"] = model.config
    metrics["compute_dtype"] = compute_dtype
    return metrics, predictions_frame(test_text["text"], labels, probabilities, list(classes))


def evaluate_baseline(train_text: pd.DataFrame, test_text: pd.DataFrame, classes: list[str], parameters: dict) -> dict:
    """Train the TF-IDF + logistic-regression baseline on the same training split; its report on the test split."""
    index = {name: position for position, name in enumerate(classes)}
    baseline = fit_tfidf_logistic_regression(train_text["text"], train_text["label"].map(index).to_numpy(), **parameters["baseline"])
    predicted = baseline.predict(list(test_text["text"]))
    metrics = classification_metrics(test_text["label"].map(index).to_numpy(), predicted, list(classes))
    metrics["model"] = {"name": "tfidf_logistic_regression", **parameters["baseline"]}
    return metrics


def check_parameters(parameters: dict) -> None:
    """Raise the one-line error this stage would raise for ``parameters``, before any model is trained or read."""
    check_known_settings(parameters, ("batch_size", "compute_dtype", "baseline"))
    require_settings(parameters, ("batch_size", "baseline"))
    resolve_compute_dtype(parameters.get("compute_dtype", "float32"))
    check_settings(fit_tfidf_logistic_regression, parameters["baseline"], "baseline", passed_by_code=("texts", "labels"))


def compare_models(
    model_metrics: dict, baseline_metrics: dict, history: pd.DataFrame
) -> tuple[pd.DataFrame, Figure, Figure]:
    """The side-by-side table, the confusion matrices and the learning curves."""
    by_model = {model_metrics["model"]["name"]: model_metrics, baseline_metrics["model"]["name"]: baseline_metrics}
    table = comparison_table(by_model)
    for row in table.itertuples():
        logger.info("test %s: accuracy %.4f, macro-F1 %.4f", row.model, row.accuracy, row.macro_f1)
    matrices = {name: metrics["confusion_matrix"] for name, metrics in by_model.items()}
    return table, confusion_matrix_figure(matrices, model_metrics["class_names"]), learning_curves_figure(history)
