"""How sure a test result is: bootstrap confidence intervals of classification metrics, and the paired
comparison of two models on the same test rows.

The metrics are accuracy, macro-F1 and each class's F1, computed from counts so that one vectorised call
scores every resample. Intervals come from ``scipy.stats.bootstrap`` (BCa unless set), resampling the test
rows with a seeded generator. Where every resample gives the same value (a class predicted perfectly), BCa
is undefined and the interval is that value.

The paired comparison resamples rows, keeping each row's two predictions together: the difference of a
metric (first − second) with its interval and a two-sided bootstrap p-value (twice the share of resampled
differences on the far side of 0, counting the observed one, so never 0; at most 1), and McNemar's exact
test on the rows only one of the two gets right (a binomial test of those counts against one half).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, PositiveInt
from scipy import stats

from flaxline.config import Settings
from flaxline.evaluation.metrics import classification_metrics, lead_columns


class UncertaintySpec(Settings):
    """Bootstrap confidence intervals of the test metrics (``scipy.stats.bootstrap``)."""

    resamples: PositiveInt = Field(1000, description="bootstrap resamples of the test rows")
    confidence: float = Field(0.95, gt=0.0, lt=1.0, description="the intervals' confidence level")
    method: Literal["BCa", "percentile", "basic"] = Field("BCa", description="scipy's interval method")
    seed: int = Field(0, description="of the resampling")


def metric_names(class_names: list[str]) -> list[str]:
    """The metrics ``classification_statistics`` returns, in its order."""
    return ["accuracy", "macro_f1", *(f"f1_{name}" for name in class_names)]


def classification_statistics(labels: np.ndarray, predicted: np.ndarray, classes: int, axis: int = -1) -> np.ndarray:
    """Accuracy, macro-F1 and each class's F1 (0 for a class neither true nor predicted, as scikit-learn's
    ``zero_division=0``), reducing ``axis``: [2 + classes, ...]."""
    accuracy = np.mean(labels == predicted, axis=axis)
    f1 = []
    for index in range(classes):
        true, guessed = labels == index, predicted == index
        hits = np.sum(true & guessed, axis=axis)
        total = np.sum(true, axis=axis) + np.sum(guessed, axis=axis)
        f1.append(np.where(total > 0, 2 * hits / np.maximum(total, 1), 0.0))
    per_class = np.stack(f1)
    return np.concatenate([accuracy[None], per_class.mean(axis=0)[None], per_class])


def _bootstrap(data: tuple[np.ndarray, ...], statistic, spec: UncertaintySpec) -> tuple[np.ndarray, np.ndarray]:
    """scipy's interval of each of ``statistic``'s values, and its bootstrap distribution [values, resamples]."""
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)  # a constant metric: handled below
        result = stats.bootstrap(
            data,
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=spec.resamples,
            confidence_level=spec.confidence,
            method=spec.method,
            batch=100,
            rng=np.random.default_rng(spec.seed),
        )
    interval = np.stack([result.confidence_interval.low, result.confidence_interval.high], axis=-1)
    distribution = result.bootstrap_distribution
    constant = np.isnan(interval).any(axis=-1)
    interval[constant] = distribution[constant][:, :1]
    return interval, distribution


def confidence_intervals(
    labels: np.ndarray, predicted: np.ndarray, class_names: list[str], spec: UncertaintySpec
) -> dict[str, list[float]]:
    """Each metric's bootstrap interval ``[low, high]`` over the test rows."""
    classes = len(class_names)
    interval, _ = _bootstrap(
        (labels, predicted), lambda true, guess, axis: classification_statistics(true, guess, classes, axis), spec
    )
    return {
        name: [float(low), float(high)] for name, (low, high) in zip(metric_names(class_names), interval, strict=True)
    }


def reported_metrics(labels: np.ndarray, predicted: np.ndarray, class_names: list[str], spec: UncertaintySpec) -> dict:
    """The classification report (``metrics.classification_metrics``) with its ``confidence_intervals``."""
    metrics = classification_metrics(labels, predicted, class_names)
    metrics["confidence_intervals"] = confidence_intervals(labels, predicted, class_names, spec)
    return metrics


def paired_comparison(
    labels: np.ndarray, first: np.ndarray, second: np.ndarray, class_names: list[str], spec: UncertaintySpec
) -> dict:
    """``first`` against ``second`` (predicted classes of the same rows): each metric's difference with its
    interval and bootstrap p-value, and McNemar's exact test."""
    classes = len(class_names)

    def difference(true, one, other, axis):
        return classification_statistics(true, one, classes, axis) - classification_statistics(
            true, other, classes, axis
        )

    interval, distribution = _bootstrap((labels, first, second), difference, spec)
    observed = difference(labels, first, second, -1)
    far_side = np.minimum(np.sum(distribution <= 0, axis=-1), np.sum(distribution >= 0, axis=-1))
    p_values = np.minimum(1.0, 2 * (far_side + 1) / (spec.resamples + 1))
    only_first = int(np.sum((first == labels) & (second != labels)))
    only_second = int(np.sum((first != labels) & (second == labels)))
    discordant = only_first + only_second
    mcnemar = stats.binomtest(only_first, discordant, 0.5).pvalue if discordant else 1.0
    return {
        "difference": {
            name: {"estimate": float(value), "interval": [float(low), float(high)], "p_value": float(p)}
            for name, value, (low, high), p in zip(metric_names(class_names), observed, interval, p_values, strict=True)
        },
        "mcnemar": {"only_first_right": only_first, "only_second_right": only_second, "p_value": float(mcnemar)},
    }


def pairwise_table(
    labels: np.ndarray, predicted_by_model: dict[str, np.ndarray], class_names: list[str], spec: UncertaintySpec
) -> pd.DataFrame:
    """``paired_comparison`` of every two models, in the mapping's order: one row per pair, ``first``'s lead over
    ``second`` as ``metrics.lead_columns`` gives it."""
    names = list(predicted_by_model)
    return pd.DataFrame(
        [
            {
                "first": first,
                "second": second,
                **lead_columns(
                    paired_comparison(labels, predicted_by_model[first], predicted_by_model[second], class_names, spec)
                ),
            }
            for position, first in enumerate(names)
            for second in names[position + 1 :]
        ]
    )
