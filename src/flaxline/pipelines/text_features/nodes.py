"""Nodes of the features stage of text tasks."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from flaxline.data.labels import label_indices
from flaxline.inputs import Encoding
from flaxline.text.tokenizer import TokenizerSpec, encode, fit_encoding

logger = logging.getLogger(__name__)


def fit_text_tokenizer(
    train_rows: pd.DataFrame, classes: list[str], parameters: TokenizerSpec
) -> tuple[Tokenizer, dict]:
    """Fit the tokenizer on the training texts only; the encoding: the model's inputs and outputs, the padded length."""
    tokenizer, encoding = fit_encoding(list(train_rows["text"]), parameters, len(classes))
    encoding = encoding.model_copy(update={"classes": tuple(classes)})
    logger.info("tokenizer: %d tokens, sequences padded to %d", tokenizer.get_vocab_size(), encoding.max_length)
    return tokenizer, encoding.model_dump(mode="json")


def encode_texts(rows: pd.DataFrame, tokenizer: Tokenizer, encoding: dict, classes: list[str]) -> dict[str, np.ndarray]:
    """Token ids [N, L], lengths [N] and class indices [N] of one split."""
    max_length = Encoding.model_validate(encoding).max_length
    assert max_length is not None  # a text encoding has one
    ids, lengths = encode(tokenizer, list(rows["text"]), max_length)
    return {"ids": ids, "lengths": lengths, "labels": label_indices(rows, classes)}
