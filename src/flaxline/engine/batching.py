"""Batches of token-id arrays, trimmed to the longest sequence they hold.

A batch is cut to the longest length in it, rounded up to ``length_multiple``, so short
sentences cost short recurrences while the number of compiled shapes stays small. The last
partial batch is filled with weight-0 rows so that every batch has the same size.

For training, ``bucketed_batches`` groups sentences of similar length: it takes the epoch's
permutation window by window, sorts each window by length, cuts it into batches and shuffles
the order of all batches, so little padding is computed while every example is still seen
once per epoch in a seeded random order.
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


def bucketed_batches(
    lengths: np.ndarray, order: np.ndarray, batch_size: int, window_batches: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Index arrays of batches of similar length, in a random order (see the module's docstring)."""
    window = window_batches * batch_size
    batches = []
    for start in range(0, len(order), window):
        part = order[start : start + window]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sequential_batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def iterate_batches(
    data: EncodedSplit, batches: list[np.ndarray], batch_size: int, length_multiple: int = 8
) -> Iterator[Batch]:
    """Yield fixed-size batches of the given index arrays."""
    for index in batches:
        weights = np.ones(batch_size, dtype=np.float32)
        if len(index) < batch_size:
            weights[len(index) :] = 0.0
            index = np.concatenate([index, np.full(batch_size - len(index), index[0], dtype=index.dtype)])
        lengths = data.lengths[index]
        width = trimmed_width(int(lengths.max()), length_multiple, data.ids.shape[1])
        yield Batch(data.ids[index, :width], lengths, data.labels[index], weights)


def steps_per_epoch(size: int, batch_size: int, window_batches: int | None = None) -> int:
    """Batches per epoch: one partial batch per bucketing window at most."""
    if not window_batches:
        return -(-size // batch_size)
    window = window_batches * batch_size
    full_windows, rest = divmod(size, window)
    return full_windows * window_batches + -(-rest // batch_size)
