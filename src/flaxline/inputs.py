"""What a model is built for, and what the features stage hands on: the task's inputs (token ids or
images) and, in ``Encoding``, everything fitted on the training split that later stages need."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, model_validator

from flaxline.config import Settings


class TokenInputs(Settings):
    """Token ids [B, L] (right-padded with 0) and lengths [B], from a tokenizer of ``vocab_size`` tokens."""

    type: Literal["tokens"] = "tokens"
    vocab_size: PositiveInt
    # The tokens in id order, for models that spell tokens (subword vectors); a saved model keeps what it
    # computed from them instead.
    vocabulary: tuple[str, ...] | None = Field(None, repr=False)

    @model_validator(mode="after")
    def _vocabulary_fits(self) -> TokenInputs:
        if self.vocabulary is not None and len(self.vocabulary) != self.vocab_size:
            raise ValueError(f"a vocabulary of {len(self.vocabulary)} tokens for vocab_size {self.vocab_size}")
        return self


class ImageInputs(Settings):
    """Images [B, H, W, C] of ``shape`` in their stored units (uint8 pixels, say), with the training
    split's per-channel mean and standard deviation, which the model normalises with."""

    type: Literal["images"] = "images"
    shape: tuple[PositiveInt, PositiveInt, PositiveInt]
    mean: tuple[float, ...]
    std: tuple[float, ...]


class RatingInputs(Settings):
    """(user, item) pairs as ids ``users`` [B], ``items`` [B] and ``user_days`` [B] (the user and the day of the
    rating) from the training split's id maps (0: one the training split never saw), with the training ratings'
    mean and the rating scale."""

    type: Literal["ratings"] = "ratings"
    users: PositiveInt = Field(description="ids, 0 (unseen) included")
    items: PositiveInt = Field(description="ids, 0 (unseen) included")
    user_days: PositiveInt = Field(1, description="ids, 0 (unseen, or no timestamp) included")
    ratings: PositiveInt = Field(1, description="how many ratings the training split holds")
    global_mean: float
    scale: tuple[float, float]


ModelInputs = Annotated[TokenInputs | ImageInputs | RatingInputs, Field(discriminator="type")]


class Encoding(Settings):
    """What the features stage fitted on the training split, for the stages after it (``<task>.encoding``)."""

    inputs: ModelInputs
    outputs: PositiveInt = Field(description="the width of a model's output: the number of classes, or 1")
    classes: tuple[str, ...] | None = Field(None, description="the class of each output (classification tasks)")
    token_arrays: tuple[str, ...] = Field((), description="per-token arrays, cut to each batch's longest sequence")
    max_length: PositiveInt | None = Field(None, description="the padded length of the token arrays")
    statistics: dict[str, float] = Field(default_factory=dict, description="what fitting measured")


def encoding_digest(encoding: dict) -> str:
    """SHA-256 of an encoding as saved (JSON): a model keeps it to find the features it was trained on."""
    return hashlib.sha256(json.dumps(encoding, sort_keys=True).encode()).hexdigest()
