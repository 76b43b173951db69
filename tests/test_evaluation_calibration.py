"""Calibration errors, temperature scaling and the reliability diagram (flaxline.evaluation.calibration)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from flaxline.evaluation.calibration import (
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
)
from flaxline.evaluation.figures import reliability_figure


def drawn(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits, and labels drawn from their softmax: a perfectly calibrated model's."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (rows, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(logits, axis=1)])
    return logits, labels


def test_the_calibration_errors_match_a_hand_count():
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.2, 0.8]])
    labels = np.array([0, 1, 0, 1])  # right, wrong, right, right
    assert expected_calibration_error(probabilities, labels, 10, "equal_width") == pytest.approx(
        (0.1 + 0.6 + 0.45 + 0.2) / 4
    )
    # two bins of two rows in confidence order: {0.55, 0.6} half right, {0.8, 0.9} all right
    assert expected_calibration_error(probabilities, labels, 2, "equal_mass") == pytest.approx(
        (2 * abs(0.5 - 0.575) + 2 * abs(1.0 - 0.85)) / 4
    )


def test_temperature_scaling_undoes_overconfidence():
    logits, labels = drawn(20_000, 0)
    assert fit_temperature(logits, labels) == pytest.approx(1.0, abs=0.05)  # calibrated already
    assert expected_calibration_error(softmax(logits, axis=1), labels, 15, "equal_mass") < 0.02
    overconfident = 3.0 * logits
    temperature = fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(3.0, rel=0.05)
    report = calibration_report(overconfident, labels, temperature, 15)
    for measure in ("negative_log_likelihood", "ece_equal_width", "ece_equal_mass"):
        assert report["after"][measure] < report["before"][measure], measure
    assert report["after"]["ece_equal_width"] < 0.5 * report["before"]["ece_equal_width"]
    assert report["before"]["negative_log_likelihood"] == pytest.approx(negative_log_likelihood(overconfident, labels))


def test_the_reliability_diagram_draws_both_curves_and_the_diagonal():
    logits, labels = drawn(500, 1)
    figure = reliability_figure(3.0 * logits, labels, 3.0, 10)
    curve, counts = figure.axes
    assert [line.get_label() for line in curve.lines] == ["calibrated", "as trained", "temperature 3.00"]
    assert len(counts.lines) == 2
