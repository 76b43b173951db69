"""Fusing classifiers trained apart: the mean of their class probabilities, or of their logits.

Each member's logits are divided by its own temperature first, so that a member's weight in the
mean does not depend on how over-confident it was trained to be. ``logits`` fusion is the softmax of
the mean scaled logits (a normalised geometric mean of the members' probabilities).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.special import softmax

Combine = Literal["probabilities", "logits"]


def fused_probabilities(logits: Sequence[np.ndarray], temperatures: Sequence[float], combine: Combine) -> np.ndarray:
    """Class probabilities [N, C] of the members' ``logits`` (each [N, C]) fused by ``combine``."""
    scaled = np.stack([np.asarray(member, np.float64) / t for member, t in zip(logits, temperatures, strict=True)])
    if combine == "probabilities":
        return softmax(scaled, axis=-1).mean(axis=0)
    return softmax(scaled.mean(axis=0), axis=-1)
