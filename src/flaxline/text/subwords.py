"""Character n-grams of tokens, hashed into buckets: the pieces a subword embedding adds to a word's vector.

As in fastText, a token is wrapped in boundary marks (``<warmly>``) and cut into its n-grams of
``min_n`` to ``max_n`` characters (``<wa``, ``war`` … ``ly>``), so words that share a stem or an
affix share vectors: a word seen once in training still gets most of its vector from pieces
trained on many others. Every token is marked as a whole word, also a BPE piece from inside one.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from flaxline.text.tokenizer import PAD_TOKEN, UNK_TOKEN


def character_ngrams(token: str, min_n: int = 3, max_n: int = 5) -> list[str]:
    """The distinct n-grams of ``<token>``, shortest first, each in order of position."""
    marked = f"<{token}>"
    seen: dict[str, None] = {}
    for n in range(min_n, max_n + 1):
        for start in range(len(marked) - n + 1):
            seen.setdefault(marked[start : start + n])
    return list(seen)


def subword_table(vocabulary: Sequence[str], buckets: int, width: int, min_n: int = 3, max_n: int = 5) -> np.ndarray:
    """[len(vocabulary), width] int32: each token's n-grams hashed to buckets 1 … buckets-1, then 0 (none).

    A token with more than ``width`` n-grams keeps its shortest ones. ``[PAD]`` and ``[UNK]`` have
    none. CRC-32 hashes the same on every machine and in every process, unlike Python's ``hash``.
    """
    table = np.zeros((len(vocabulary), width), dtype=np.int32)
    for row, token in enumerate(vocabulary):
        if token in (PAD_TOKEN, UNK_TOKEN):
            continue
        pieces = character_ngrams(token, min_n, max_n)[:width]
        table[row, : len(pieces)] = [1 + zlib.crc32(piece.encode()) % (buckets - 1) for piece in pieces]
    return table
