"""Nodes of the features stage of text tasks."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, PositiveInt, model_validator
from tokenizers import Tokenizer

from flaxline.config import Settings
from flaxline.data.labels import label_indices
from flaxline.text.tokenizer import choose_max_length, encode, fit_tokenizer, token_counts, vocabulary

logger = logging.getLogger(__name__)


class TokenizerParams(Settings):
    """The tokenizer fitted on the training texts, and the padded length of the id arrays."""

    lowercase: bool = True
    pre_tokenizer: Literal["whitespace", "whitespace_split"] = Field(
        "whitespace",
        description="whitespace: words and runs of punctuation apart (don't! → don ' t !); "
        "whitespace_split: spaces only",
    )
    tokenizer_model: Literal["word", "bpe"] = Field(
        "word", description="word: one id per word; bpe: subwords, unseen words spelt from known pieces"
    )
    min_frequency: PositiveInt = Field(
        2, description="tokens seen fewer times in train become [UNK] (bpe: pairs merged at least this often)"
    )
    max_vocab_size: PositiveInt | None = Field(50000, description="at most this many tokens (bpe: its target size)")
    length_quantile: float = Field(
        0.99, gt=0.0, le=1.0, description="the padded length covers this share of the training texts ..."
    )
    length_multiple: PositiveInt = Field(8, description="... rounded up to a multiple of this ...")
    max_length: PositiveInt = Field(128, description="... and never above this")

    @model_validator(mode="after")
    def _bpe_has_a_size(self) -> TokenizerParams:
        if self.tokenizer_model == "bpe" and self.max_vocab_size is None:
            raise ValueError("a bpe tokenizer needs max_vocab_size (its target number of tokens)")
        return self


def fit_text_tokenizer(train_rows: pd.DataFrame, parameters: TokenizerParams) -> tuple[Tokenizer, dict]:
    """Fit the tokenizer on the training texts only; the encoding: the model's inputs and the padded length."""
    tokenizer = fit_tokenizer(
        train_rows["text"],
        lowercase=parameters.lowercase,
        min_frequency=parameters.min_frequency,
        max_vocab_size=parameters.max_vocab_size,
        pre_tokenizer=parameters.pre_tokenizer,
        model=parameters.tokenizer_model,
    )
    counts = token_counts(tokenizer, list(train_rows["text"]))
    max_length = choose_max_length(
        counts, parameters.length_quantile, parameters.length_multiple, parameters.max_length
    )
    encoding = {
        "inputs": {"type": "tokens", "vocab_size": tokenizer.get_vocab_size(), "vocabulary": vocabulary(tokenizer)},
        "token_arrays": ["ids"],
        "max_length": max_length,
        "truncated_train_texts": int((counts > max_length).sum()),
        "mean_train_tokens": float(counts.mean()),
    }
    logger.info("tokenizer: %d tokens, sequences padded to %d", tokenizer.get_vocab_size(), max_length)
    return tokenizer, encoding


def encode_texts(rows: pd.DataFrame, tokenizer: Tokenizer, encoding: dict, classes: list[str]) -> dict[str, np.ndarray]:
    """Token ids [N, L], lengths [N] and class indices [N] of one split."""
    ids, lengths = encode(tokenizer, list(rows["text"]), encoding["max_length"])
    return {"ids": ids, "lengths": lengths, "labels": label_indices(rows, classes)}
