"""Nodes of the evaluation stage."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import Field, PositiveInt
from scipy.special import softmax

from flaxline.config import Settings
from flaxline.data.labels import label_indices
from flaxline.engine.batching import Batching
from flaxline.engine.devices import resolve_placement
from flaxline.engine.inference import ComputeChoice, predict
from flaxline.evaluation.baselines import BaselineSpec, fit_baseline
from flaxline.evaluation.calibration import calibration_report
from flaxline.evaluation.figures import (
    confusion_matrix_figure,
    intervals_figure,
    learning_curves_figure,
    reliability_figure,
)
from flaxline.evaluation.metrics import comparison_table, predictions_frame
from flaxline.evaluation.uncertainty import UncertaintySpec, paired_comparison, reported_metrics
from flaxline.inputs import Encoding
from flaxline.models.serialization import ModelArtifact, check_trained_on

logger = logging.getLogger(__name__)


class EvaluationParams(Settings):
    """The test-split report of the network and of its baseline."""

    batch_size: PositiveInt = 256
    length_multiple: PositiveInt = Field(
        8, description="sequence batches are cut to their longest sequence rounded up to this: one pass, few shapes"
    )
    compute_dtype: ComputeChoice = Field(
        "auto",
        description="bfloat16: parameters rounded to bf16 (the lstm: bf16 products, fp32 gates and state); "
        "auto: bfloat16 on accelerators, float32 on CPUs",
    )
    baseline: BaselineSpec = Field(
        description="the scikit-learn model beside the network, trained on the same training split"
    )
    calibration_bins: PositiveInt = Field(15, description="confidence bins of the calibration errors and diagram")
    uncertainty: UncertaintySpec = Field(
        default_factory=UncertaintySpec,
        description="the bootstrap intervals and the paired comparison (docs/evaluation.md)",
    )


def evaluate_model(
    model: ModelArtifact,
    test_features: dict[str, np.ndarray],
    test_rows: pd.DataFrame,
    encoding: dict,
    classes: list[str],
    parameters: EvaluationParams,
) -> tuple[dict, pd.DataFrame, Figure]:
    """The network's classification report on the test split with the metrics' confidence intervals and its
    calibration before and after the model's temperature, its predictions with the (scaled) class probabilities,
    and the reliability diagram. The model must have been trained on this encoding (the test features')."""
    check_trained_on(model, encoding)
    batching = Batching(
        parameters.batch_size, Encoding.model_validate(encoding).token_arrays, parameters.length_multiple
    )
    placement = resolve_placement("auto", parameters.compute_dtype, False)
    logits = np.asarray(predict(model.model, test_features, batching, placement.compute_dtype), np.float64)
    labels, temperature = test_features["labels"], model.config.temperature
    probabilities = softmax(logits / temperature, axis=1)
    metrics = reported_metrics(labels, probabilities.argmax(axis=1), list(classes), parameters.uncertainty)
    metrics["model"] = model.config.model.model_dump(mode="json")
    metrics["calibration"] = calibration_report(logits, labels, temperature, parameters.calibration_bins)
    metrics["compute_dtype"] = placement.compute_dtype
    metrics["device"] = placement.describe()
    reliability = reliability_figure(logits, labels, temperature, parameters.calibration_bins)
    return metrics, predictions_frame(test_rows, labels, probabilities, list(classes)), reliability


def evaluate_baseline(
    train_rows: pd.DataFrame, test_rows: pd.DataFrame, classes: list[str], parameters: EvaluationParams
) -> tuple[dict, pd.DataFrame]:
    """Train the baseline on the same training split; its report on the test split and its predictions."""
    baseline = fit_baseline(parameters.baseline, train_rows, label_indices(train_rows, classes))
    probabilities = np.zeros((len(test_rows), len(classes)))
    probabilities[:, baseline.classes_] = baseline.predict_proba(test_rows)  # classes absent from train: 0
    labels = label_indices(test_rows, classes)
    metrics = reported_metrics(labels, probabilities.argmax(axis=1), list(classes), parameters.uncertainty)
    metrics["model"] = parameters.baseline.model_dump(mode="json")
    return metrics, predictions_frame(test_rows, labels, probabilities, list(classes))


def compare_models(
    model_metrics: dict,
    baseline_metrics: dict,
    history: pd.DataFrame,
    test_predictions: pd.DataFrame,
    baseline_predictions: pd.DataFrame,
    parameters: EvaluationParams,
) -> tuple[pd.DataFrame, Figure, Figure, Figure]:
    """The side-by-side table with the intervals and the paired comparison of the network against the baseline
    on the same test rows, the intervals drawn, the confusion matrices and the learning curves."""
    by_model = {model_metrics["model"]["name"]: model_metrics, baseline_metrics["model"]["name"]: baseline_metrics}
    classes = model_metrics["class_names"]
    index = {name: position for position, name in enumerate(classes)}
    labels, network, baseline = (
        frame[column].map(index).to_numpy()
        for frame, column in (
            (test_predictions, "label"),
            (test_predictions, "predicted"),
            (baseline_predictions, "predicted"),
        )
    )
    paired = paired_comparison(labels, network, baseline, classes, parameters.uncertainty)
    table = comparison_table(by_model, {baseline_metrics["model"]["name"]: paired})
    for row in table.itertuples():
        logger.info("test %s: accuracy %.4f, macro-F1 %.4f", row.model, row.accuracy, row.macro_f1)
    accuracy = paired["difference"]["accuracy"]
    logger.info(
        "network − baseline accuracy %+.4f [%.4f, %.4f], bootstrap p %.3g, McNemar p %.3g",
        accuracy["estimate"],
        *accuracy["interval"],
        accuracy["p_value"],
        paired["mcnemar"]["p_value"],
    )
    matrices = {name: metrics["confusion_matrix"] for name, metrics in by_model.items()}
    return (
        table,
        intervals_figure(by_model),
        confusion_matrix_figure(matrices, classes),
        learning_curves_figure(history),
    )
