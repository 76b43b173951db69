"""Nodes of the features stage."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from flaxline.errors import InputError, check_known_settings, require_settings
from flaxline.text.tokenizer import check_tokenizer_settings, choose_max_length, encode, fit_tokenizer, token_counts

logger = logging.getLogger(__name__)

SETTINGS = (
    "lowercase", "pre_tokenizer", "tokenizer_model", "min_frequency", "max_vocab_size",
    "length_quantile", "length_multiple", "max_length",
)


def fit_text_tokenizer(train_text: pd.DataFrame, parameters: dict) -> tuple[Tokenizer, dict]:
    """Fit the tokenizer on the training texts only, and choose the padded length from their token counts."""
    tokenizer = fit_tokenizer(train_text["text"], **tokenizer_settings(parameters))
    counts = token_counts(tokenizer, list(train_text["text"]))
    max_length = choose_max_length(counts, parameters["length_quantile"], parameters["length_multiple"], parameters["max_length"])
    encoding = {
        "vocab_size": tokenizer.get_vocab_size(),
        "max_length": max_length,
        "truncated_train_texts": int((counts > max_length).sum()),
        "mean_train_tokens": float(counts.mean()),
    }
    logger.info("tokenizer: %d tokens, sequences padded to %d", encoding["vocab_size"], max_length)
    return tokenizer, encoding


def check_parameters(parameters: dict) -> None:
    """Raise the one-line error this stage would raise for ``parameters``, before any text is read."""
    check_known_settings(parameters, SETTINGS)
    require_settings(parameters, ("length_quantile", "length_multiple", "max_length"))
    settings = tokenizer_settings(parameters)
    check_tokenizer_settings(settings["pre_tokenizer"], settings["model"], settings["max_vocab_size"])


def tokenizer_settings(parameters: dict) -> dict:
    """``fit_tokenizer``'s keyword arguments from the stage's parameters."""
    require_settings(parameters, ("lowercase", "min_frequency"))
    return {
        "lowercase": parameters["lowercase"],
        "min_frequency": parameters["min_frequency"],
        "max_vocab_size": parameters.get("max_vocab_size"),
        "pre_tokenizer": parameters.get("pre_tokenizer", "whitespace"),
        "model": parameters.get("tokenizer_model", "word"),
    }


def encode_split(text: pd.DataFrame, tokenizer: Tokenizer, encoding: dict, classes: list[str]) -> dict[str, np.ndarray]:
    """Token ids [N, L], lengths [N] and class indices [N] of one split."""
    unknown = sorted(set(text["label"]) - set(classes))
    if unknown:
        raise InputError(f"column 'label': {unknown[0]!r} is not one of the classes {list(classes)}")
    ids, lengths = encode(tokenizer, list(text["text"]), encoding["max_length"])
    labels = text["label"].map({name: index for index, name in enumerate(classes)}).to_numpy(np.int32)
    return {"ids": ids, "lengths": lengths, "labels": labels}
