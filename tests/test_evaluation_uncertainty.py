"""Bootstrap intervals and the paired comparison of two models (flaxline.evaluation.uncertainty)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from flaxline.evaluation.metrics import classification_metrics
from flaxline.evaluation.uncertainty import (
    UncertaintySpec,
    classification_statistics,
    confidence_intervals,
    paired_comparison,
    pairwise_table,
)

CLASSES = ["neg", "neu", "pos"]


def noisy(labels: np.ndarray, accuracy: float, seed: int) -> np.ndarray:
    """Predictions that are right with probability ``accuracy``, else a random class."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(len(labels)) < accuracy, labels, rng.integers(0, 3, len(labels)))


LABELS = np.random.default_rng(0).integers(0, 3, 900)


def test_the_statistics_match_scikit_learn_on_every_resample():
    predicted = noisy(LABELS, 0.7, 1)
    report = classification_metrics(LABELS, predicted, CLASSES)
    values = classification_statistics(LABELS, predicted, 3)
    expected = [report["accuracy"], report["macro_f1"], *(report["report"][name]["f1-score"] for name in CLASSES)]
    np.testing.assert_allclose(values, expected)
    rows = np.random.default_rng(2).integers(0, 900, (5, 900))  # five resamples scored in one call
    scored = classification_statistics(LABELS[rows], predicted[rows], 3, axis=-1)
    for column, resample in enumerate(rows):
        single = classification_metrics(LABELS[resample], predicted[resample], CLASSES)["macro_f1"]
        assert scored[1, column] == pytest.approx(single)


def test_intervals_hold_the_estimate_shrink_with_more_rows_and_repeat_with_the_seed():
    spec = UncertaintySpec(resamples=500)
    predicted = noisy(LABELS, 0.7, 1)
    intervals = confidence_intervals(LABELS, predicted, CLASSES, spec)
    assert list(intervals) == ["accuracy", "macro_f1", "f1_neg", "f1_neu", "f1_pos"]
    accuracy = np.mean(LABELS == predicted)
    low, high = intervals["accuracy"]
    assert low < accuracy < high
    normal = 1.96 * np.sqrt(accuracy * (1 - accuracy) / len(LABELS))  # the normal approximation's half-width
    assert (high - low) / 2 == pytest.approx(normal, rel=0.2)
    quarter = confidence_intervals(LABELS[:225], predicted[:225], CLASSES, spec)["accuracy"]
    assert quarter[1] - quarter[0] > 1.6 * (high - low)  # a quarter of the rows: about twice as wide
    assert confidence_intervals(LABELS, predicted, CLASSES, spec) == intervals


def test_a_perfect_metric_has_a_point_interval():
    intervals = confidence_intervals(LABELS, LABELS.copy(), CLASSES, UncertaintySpec(resamples=200))
    assert all(interval == [1.0, 1.0] for interval in intervals.values())


def test_the_paired_comparison_tells_a_better_model_from_an_equal_one():
    spec = UncertaintySpec(resamples=500)
    strong, weak, twin = noisy(LABELS, 0.85, 1), noisy(LABELS, 0.7, 2), noisy(LABELS, 0.85, 3)
    better = paired_comparison(LABELS, strong, weak, CLASSES, spec)
    lead = better["difference"]["accuracy"]
    assert lead["estimate"] == pytest.approx(np.mean(strong == LABELS) - np.mean(weak == LABELS))
    assert 0 < lead["interval"][0] < lead["estimate"] < lead["interval"][1]
    assert lead["p_value"] < 0.01 and better["mcnemar"]["p_value"] < 0.01
    same = paired_comparison(LABELS, strong, twin, CLASSES, spec)
    assert same["difference"]["accuracy"]["p_value"] > 0.05 and same["mcnemar"]["p_value"] > 0.05
    only_first = int(np.sum((strong == LABELS) & (weak != LABELS)))
    only_second = int(np.sum((strong != LABELS) & (weak == LABELS)))
    assert better["mcnemar"] == {
        "only_first_right": only_first,
        "only_second_right": only_second,
        "p_value": pytest.approx(stats.binomtest(only_first, only_first + only_second).pvalue),
    }
    identical = paired_comparison(LABELS, strong, strong, CLASSES, spec)
    assert identical["difference"]["accuracy"] == {"estimate": 0.0, "interval": [0.0, 0.0], "p_value": 1.0}
    assert identical["mcnemar"]["p_value"] == 1.0


def test_the_pairwise_table_compares_every_two_models_once_in_order():
    spec = UncertaintySpec(resamples=200)
    predicted = {"a": noisy(LABELS, 0.85, 1), "b": noisy(LABELS, 0.7, 2), "c": noisy(LABELS, 0.6, 4)}
    table = pairwise_table(LABELS, predicted, CLASSES, spec)
    assert list(zip(table["first"], table["second"], strict=True)) == [("a", "b"), ("a", "c"), ("b", "c")]
    row = table.iloc[1]
    paired = paired_comparison(LABELS, predicted["a"], predicted["c"], CLASSES, spec)
    assert row["lead_accuracy"] == paired["difference"]["accuracy"]["estimate"]
    assert [row["lead_macro_f1_low"], row["lead_macro_f1_high"]] == paired["difference"]["macro_f1"]["interval"]
    assert row["mcnemar_p_value"] == paired["mcnemar"]["p_value"]
