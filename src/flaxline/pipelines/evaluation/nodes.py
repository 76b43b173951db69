"""Nodes of the evaluation stage."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.data.labels import label_indices
from flaxline.engine.batching import Batching
from flaxline.engine.devices import resolve_placement
from flaxline.engine.inference import ComputeChoice, predict
from flaxline.evaluation.baselines import BaselineSpec, fit_baseline
from flaxline.evaluation.figures import confusion_matrix_figure, learning_curves_figure
from flaxline.evaluation.metrics import classification_metrics, comparison_table, predictions_frame, softmax
from flaxline.inputs import Encoding
from flaxline.models.serialization import ModelArtifact

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


def evaluate_model(
    model: ModelArtifact,
    test_features: dict[str, np.ndarray],
    test_rows: pd.DataFrame,
    encoding: dict,
    classes: list[str],
    parameters: EvaluationParams,
) -> tuple[dict, pd.DataFrame]:
    """The network's classification report on the test split, and its predictions with class probabilities."""
    batching = Batching(
        parameters.batch_size, Encoding.model_validate(encoding).token_arrays, parameters.length_multiple
    )
    placement = resolve_placement("auto", parameters.compute_dtype, False)
    probabilities = softmax(predict(model.model, test_features, batching, placement.compute_dtype))
    labels = test_features["labels"]
    metrics = classification_metrics(labels, probabilities.argmax(axis=1), list(classes))
    metrics["model"] = model.config.model.model_dump(mode="json")
    metrics["compute_dtype"] = placement.compute_dtype
    metrics["device"] = placement.describe()
    return metrics, predictions_frame(test_rows, labels, probabilities, list(classes))


def evaluate_baseline(
    train_rows: pd.DataFrame, test_rows: pd.DataFrame, classes: list[str], parameters: EvaluationParams
) -> dict:
    """Train the baseline on the same training split; its report on the test split."""
    baseline = fit_baseline(parameters.baseline, train_rows, label_indices(train_rows, classes))
    metrics = classification_metrics(label_indices(test_rows, classes), baseline.predict(test_rows), list(classes))
    metrics["model"] = parameters.baseline.model_dump(mode="json")
    return metrics


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
