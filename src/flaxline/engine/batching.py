"""Batches: dicts of arrays cut from a split's arrays, in a seeded order, all of one size.

The last partial batch is filled with weight-0 rows (``weights``), so that every batch has the
same size. Sequence data (a split with ``lengths``) is cut to the longest sequence of each
batch, rounded up to ``length_multiple``, in every per-token array (``token_arrays``, e.g.
``ids``), so short sentences cost short recurrences while the number of compiled shapes stays
small. For training, such data can be bucketed: the epoch's permutation is taken window by
window, each window sorted by length and cut into batches, and the order of all batches
shuffled, so little padding is computed while every example is still seen once per epoch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from flaxline.errors import InputError

Arrays = dict[str, np.ndarray]
# Sequence widths are rounded up to this: few compiled shapes, little padding.
LENGTH_MULTIPLE = 4


def example_count(arrays: Arrays) -> int:
    """The number of rows every array of ``arrays`` has; one line naming the first that differs."""
    sizes = {name: len(array) for name, array in arrays.items()}
    first = next(iter(sizes.values()), 0)
    for name, size in sizes.items():
        if size != first:
            raise InputError(f"array '{name}' has {size} rows, the others {first}")
    return first


def trimmed_width(longest: int, length_multiple: int, max_width: int) -> int:
    return int(min(max_width, max(length_multiple, -(-longest // length_multiple) * length_multiple)))


def bucketed_batches(
    lengths: np.ndarray, order: np.ndarray, batch_size: int, window_batches: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Index arrays of batches of similar length, in a random order (see the module's docstring)."""
    window = window_batches * batch_size
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        part = order[start : start + window]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sequential_batches(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


@dataclass(frozen=True)
class Batching:
    """How one split is cut into batches (see the module's docstring); windows apply to sequence data only."""

    batch_size: int
    token_arrays: tuple[str, ...] = ()
    length_multiple: int = LENGTH_MULTIPLE
    window_batches: int = 0

    def epoch(self, arrays: Arrays, rng: np.random.Generator) -> list[np.ndarray]:
        """The index arrays of one training epoch, drawn from ``rng``."""
        order = rng.permutation(example_count(arrays))
        if self.window_batches and "lengths" in arrays:
            return bucketed_batches(arrays["lengths"], order, self.batch_size, self.window_batches, rng)
        return sequential_batches(order, self.batch_size)

    def in_length_order(self, arrays: Arrays) -> list[np.ndarray]:
        """Every row once, shortest sequences first (input order for data without lengths), for inference. With
        lengths, the partial batch is the first, so that its filler rows are the shortest."""
        if "lengths" not in arrays:
            return sequential_batches(np.arange(example_count(arrays)), self.batch_size)
        order = np.argsort(arrays["lengths"], kind="stable")
        partial = len(order) % self.batch_size
        return ([order[:partial]] if partial else []) + sequential_batches(order[partial:], self.batch_size)

    def steps(self, arrays: Arrays) -> int:
        """Batches per epoch: one partial batch per bucketing window at most."""
        size = example_count(arrays)
        if not (self.window_batches and "lengths" in arrays):
            return -(-size // self.batch_size)
        window = self.window_batches * self.batch_size
        full_windows, rest = divmod(size, window)
        return full_windows * self.window_batches + -(-rest // self.batch_size)

    def batches(self, arrays: Arrays, indices: list[np.ndarray]) -> Iterator[Arrays]:
        """The batches of ``indices``, each of ``batch_size`` rows with their ``weights``."""
        for index in indices:
            weights = np.ones(self.batch_size, dtype=np.float32)
            if len(index) < self.batch_size:
                weights[len(index) :] = 0.0
                index = np.concatenate([index, np.full(self.batch_size - len(index), index[0], dtype=index.dtype)])
            batch = {name: array[index] for name, array in arrays.items()}
            if self.token_arrays and "lengths" in arrays:
                first = arrays[self.token_arrays[0]]
                width = trimmed_width(int(batch["lengths"].max()), self.length_multiple, first.shape[1])
                batch.update({name: batch[name][:, :width] for name in self.token_arrays})
            batch["weights"] = weights
            yield batch
