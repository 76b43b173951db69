"""Nodes of the split stage of rating tasks."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from flaxline.config import Settings
from flaxline.ratings.split import predefined_rating_split, random_split, split_by_time


class RatingSplitParams(Settings):
    """How the clean ratings become train, validation and test."""

    strategy: Literal["auto", "random", "by_time", "predefined"] = Field(
        "auto",
        description="random: each rating drawn (seeded); by_time: each user's latest ratings to test and validation; "
        "predefined: the data's own split column; auto: predefined when the data has one, else random",
    )
    validation_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    test_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _room_for_train(self) -> RatingSplitParams:
        held_out = self.validation_fraction + self.test_fraction
        if held_out >= 1:
            raise ValueError(f"validation_fraction + test_fraction must stay below 1, not {held_out:g}")
        return self


def split_ratings(
    clean: pd.DataFrame, parameters: RatingSplitParams
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train, validation and test ratings."""
    strategy = parameters.strategy
    if strategy == "auto":
        strategy = "predefined" if "split" in clean else "random"
    if strategy == "predefined":
        parts = predefined_rating_split(clean)
    elif strategy == "by_time":
        parts = split_by_time(
            clean.drop(columns="split", errors="ignore"), parameters.validation_fraction, parameters.test_fraction
        )
    else:
        parts = random_split(
            clean.drop(columns="split", errors="ignore"),
            parameters.validation_fraction,
            parameters.test_fraction,
            parameters.seed,
        )
    return parts["train"], parts["validation"], parts["test"]
