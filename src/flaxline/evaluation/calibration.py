"""Calibration: whether a classifier's confidence matches how often it is right, and temperature scaling.

A prediction's confidence is its largest class probability. The expected calibration error (ECE) is
the mean over confidence bins of |accuracy − mean confidence| in the bin, weighted by the bin's share
of the rows (Guo et al., 2017), with bins of equal width over [0, 1] or of equal mass (each holding
the same number of rows, in confidence order). Temperature scaling divides the logits by one scalar
T > 0, fitted to minimise the negative log-likelihood of a held-out split: it changes no prediction,
only how sure each one is.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import optimize
from scipy.special import log_softmax, softmax

Binning = Literal["equal_width", "equal_mass"]


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """The mean of −log p(true class) under softmax(logits / temperature)."""
    return float(-np.mean(log_softmax(logits / temperature, axis=1)[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [e^-4, e^4] minimising the negative log-likelihood of softmax(logits / T)."""
    fitted = optimize.minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
        bounds=(-4.0, 4.0),
        method="bounded",
    )
    return float(np.exp(fitted.x))


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int, binning: Binning) -> list[dict]:
    """Per non-empty bin: its rows, mean confidence and accuracy."""
    confidence, right = probabilities.max(axis=1), probabilities.argmax(axis=1) == labels
    if binning == "equal_width":
        assigned = np.minimum((confidence * bins).astype(int), bins - 1)
    else:
        assigned = np.empty(len(confidence), int)
        assigned[np.argsort(confidence, kind="stable")] = np.arange(len(confidence)) * bins // len(confidence)
    return [
        {
            "rows": int(np.sum(members)),
            "confidence": float(confidence[members].mean()),
            "accuracy": float(right[members].mean()),
        }
        for members in (assigned == index for index in range(bins))
        if members.any()
    ]


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int, binning: Binning) -> float:
    """Σ over bins of (rows in the bin / rows) × |accuracy − mean confidence| (see the module's docstring)."""
    table = reliability_bins(probabilities, labels, bins, binning)
    return float(sum(row["rows"] * abs(row["accuracy"] - row["confidence"]) for row in table) / len(labels))


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float, bins: int) -> dict:
    """Negative log-likelihood and both ECEs before (T = 1) and after temperature scaling."""

    def measured(scale: float) -> dict:
        probabilities = softmax(logits / scale, axis=1)
        return {
            "negative_log_likelihood": negative_log_likelihood(logits, labels, scale),
            **{
                f"ece_{binning}": expected_calibration_error(probabilities, labels, bins, binning)
                for binning in ("equal_width", "equal_mass")
            },
        }

    return {"temperature": temperature, "bins": bins, "before": measured(1.0), "after": measured(temperature)}
