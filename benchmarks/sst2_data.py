"""SST-2 in flaxline's layout (train.tsv, dev.tsv, test.tsv), read and encoded for the benchmark scripts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from flaxline.data.delimited import read_split_files
from flaxline.text.tokenizer import encode

FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}


def read_sst2(data_dir: Path) -> dict[str, tuple[list[str], np.ndarray]]:
    """Each split's sentences and integer labels."""
    frame = read_split_files(data_dir, FILES, delimiter="\t", quoting=False, fallback_encodings=())
    parts = {name: frame[frame["split"] == name] for name in FILES}
    return {
        name: (list(part["sentence"]), part["label"].astype(int).to_numpy(np.int32)) for name, part in parts.items()
    }


def encode_sst2(
    tokenizer: Tokenizer, splits: dict[str, tuple[list[str], np.ndarray]], max_length: int
) -> dict[str, dict[str, np.ndarray]]:
    """Each split as the arrays of a text task: ids, lengths, labels."""
    encoded = {}
    for name, (texts, labels) in splits.items():
        ids, lengths = encode(tokenizer, texts, max_length)
        encoded[name] = {"ids": ids, "lengths": lengths, "labels": labels}
    return encoded
