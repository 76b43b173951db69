"""Nodes of the explanation stage."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import Field, PositiveInt
from tokenizers import Tokenizer

from flaxline.config import Settings
from flaxline.evaluation.attribution import Baseline, explain_rows
from flaxline.evaluation.explanations import attribution_maps_figure, token_attribution_page
from flaxline.models.serialization import ModelArtifact, check_trained_on

logger = logging.getLogger(__name__)


class ExplanationParams(Settings):
    """Integrated gradients of the predicted class's logit for some test rows (docs/evaluation.md)."""

    examples: PositiveInt = Field(
        32, description="test rows explained: the most confident errors first, then the most confident right answers"
    )
    steps: PositiveInt = Field(64, description="points of the path integral from the baseline to the input")
    baseline: Baseline = Field(
        "zeros", description="zeros: zero embeddings or a black image; mean: the mean embedding or the mean colour"
    )
    batch_size: PositiveInt = Field(16, description="rows explained at once (each at every step)")


def explain_texts(
    model: ModelArtifact,
    test_features: dict[str, np.ndarray],
    test_predictions: pd.DataFrame,
    tokenizer: Tokenizer,
    encoding: dict,
    classes: list[str],
    parameters: ExplanationParams,
) -> tuple[pd.DataFrame, dict]:
    """The explained test texts (most confident errors first): each one's classes, confidence, tokens and their
    attributions, and completeness gap; and the report with the largest gap. The model must have been trained on
    this encoding (and so on this tokenizer's ids)."""
    check_trained_on(model, encoding)
    explanations, report = _explained(model, test_features, test_predictions, classes, parameters)
    ids, lengths = test_features["ids"], test_features["lengths"]
    tokens = [[tokenizer.id_to_token(int(i)) for i in ids[at, : lengths[at]]] for at in explanations["position"]]
    return explanations.assign(tokens=tokens), report


def explain_images(
    model: ModelArtifact,
    test_features: dict[str, np.ndarray],
    test_predictions: pd.DataFrame,
    classes: list[str],
    parameters: ExplanationParams,
) -> tuple[pd.DataFrame, dict]:
    """The explained test images (most confident errors first): each one's classes, confidence, attributions per
    pixel (summed over channels, row by row) and completeness gap; and the report with the largest gap. (An image
    model carries the statistics it normalises with: any encoding serves.)"""
    return _explained(model, test_features, test_predictions, classes, parameters)


def _explained(
    model: ModelArtifact,
    test_features: dict[str, np.ndarray],
    test_predictions: pd.DataFrame,
    classes: list[str],
    parameters: ExplanationParams,
) -> tuple[pd.DataFrame, dict]:
    index = {name: position for position, name in enumerate(classes)}
    predicted = test_predictions["predicted"].map(index).to_numpy()
    confidence = test_predictions[[f"probability_{name}" for name in classes]].to_numpy().max(axis=1)
    wrong = predicted != test_predictions["label"].map(index).to_numpy()
    rows = np.lexsort((-confidence, ~wrong))[: parameters.examples]
    started = time.perf_counter()
    attributions, gaps, change = explain_rows(
        model.model, test_features, rows, predicted[rows], parameters.steps, parameters.baseline, parameters.batch_size
    )
    seconds = time.perf_counter() - started
    if "lengths" in test_features:
        per_row = [row[:length] for row, length in zip(attributions, test_features["lengths"][rows], strict=True)]
    else:
        per_row = list(attributions.sum(axis=-1).reshape(len(rows), -1))
    explanations = pd.DataFrame(
        {
            "position": rows,  # in the test split, whose own `row` (the raw row) follows where it has one
            **({"row": test_predictions["row"].to_numpy()[rows]} if "row" in test_predictions else {}),
            "label": test_predictions["label"].to_numpy()[rows],
            "predicted": test_predictions["predicted"].to_numpy()[rows],
            "confidence": confidence[rows],
            "attributions": [row.astype(np.float32) for row in per_row],
            "logit_change": change,
            "completeness_gap": gaps,
        }
    )
    return explanations, _report(explanations, int(wrong[rows].sum()), seconds, parameters)


def _report(explanations: pd.DataFrame, errors: int, seconds: float, parameters: ExplanationParams) -> dict:
    gaps = np.abs(explanations["completeness_gap"].to_numpy())
    relative = gaps / np.maximum(np.abs(explanations["logit_change"].to_numpy()), 1e-6)
    report = {
        "examples": len(explanations),
        "errors": errors,
        "steps": parameters.steps,
        "baseline": parameters.baseline,
        "seconds": seconds,
        "seconds_per_example": seconds / max(len(explanations), 1),
        "max_abs_completeness_gap": float(gaps.max(initial=0.0)),
        "max_relative_completeness_gap": float(relative.max(initial=0.0)),
    }
    logger.info(
        "explained %d test rows (%d errors) in %.1f s; completeness gap at most %.2g (%.2g of the logit change)",
        len(explanations),
        errors,
        seconds,
        report["max_abs_completeness_gap"],
        report["max_relative_completeness_gap"],
    )
    return report


def render_explanations(explanations: pd.DataFrame) -> str:
    """An HTML page: each explained text as its tokens, coloured by their attribution to the predicted class."""
    return token_attribution_page(explanations)


def draw_explanations(explanations: pd.DataFrame, test_features: dict[str, np.ndarray]) -> Figure:
    """Each explained image beside the heat map of its attributions to the predicted class."""
    return attribution_maps_figure(explanations, test_features["images"][explanations["position"].to_numpy()])
