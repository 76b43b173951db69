"""The transfer set of a distillation: each training text, plus copies changed as Tang et al. (2019) change them.

Each copy masks every word with probability ``mask_probability`` (``[MASK]``, which a BERT tokenizer
keeps whole), then, with probability ``ngram_probability``, keeps only a random n-gram of it (n from 1
to ``max_ngram``), and, with probability ``join_probability``, is followed by another text drawn at random,
then by a further one with the same probability, up to ``max_joins`` texts: longer texts that mix several
texts' sentiment, for a student that must read longer sentences than most of its training texts (SST-2
trains on phrases and tests on whole sentences). Words are whitespace-separated tokens. Copies equal to
their source are dropped, so that the transfer set holds no duplicate the teacher would label twice. The
paper's third change, swapping words for others of the same part of speech, is not made.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MASK = "[MASK]"


def augmented_copies(
    texts: Sequence[str],
    copies: int,
    mask_probability: float,
    ngram_probability: float,
    max_ngram: int,
    join_probability: float,
    max_joins: int,
    seed: int,
) -> tuple[np.ndarray, list[str]]:
    """The index of each copy's source text and the copy's text, ``copies`` tries per text, in text order."""
    rng = np.random.default_rng(seed)
    sources, changed = [], []
    for index, text in enumerate(texts):
        words = text.split()
        for _ in range(copies):
            copy = [MASK if rng.random() < mask_probability else word for word in words]
            if len(copy) > 1 and rng.random() < ngram_probability:
                n = int(rng.integers(1, min(max_ngram, len(copy)) + 1))
                start = int(rng.integers(0, len(copy) - n + 1))
                copy = copy[start : start + n]
            for _ in range(max_joins):
                if rng.random() >= join_probability:
                    break
                copy = copy + texts[int(rng.integers(len(texts)))].split()
            if copy != words:
                sources.append(index)
                changed.append(" ".join(copy))
    return np.asarray(sources, dtype=np.int64), changed
