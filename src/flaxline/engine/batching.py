"""Batches of token-id arrays, trimmed to the longest sequence they hold.

A batch is cut to the longest length in it, rounded up to ``length_multiple``, so short
sentences cost short recurrences while the number of compiled shapes stays small. The last
partial batch is filled with weight-0 rows so that every batch has the same size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EncodedSplit:
    """Token ids [N, L] (right-padded), lengths [N] and integer labels [N]."""

    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Batch:
    ids: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    weights: np.ndarray


def trimmed_width(longest: int, length_multiple: int, max_width: int) -> int:
    return int(min(max_width, max(length_multiple, -(-longest // length_multiple) * length_multiple)))


def iterate_batches(
    data: EncodedSplit, order: np.ndarray, batch_size: int, length_multiple: int = 8
) -> Iterator[Batch]:
    """Yield fixed-size batches following ``order``."""
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        weights = np.ones(batch_size, dtype=np.float32)
        if len(index) < batch_size:
            weights[len(index) :] = 0.0
            index = np.concatenate([index, np.full(batch_size - len(index), index[0], dtype=index.dtype)])
        lengths = data.lengths[index]
        width = trimmed_width(int(lengths.max()), length_multiple, data.ids.shape[1])
        yield Batch(data.ids[index, :width], lengths, data.labels[index], weights)


def steps_per_epoch(size: int, batch_size: int) -> int:
    return -(-size // batch_size)
