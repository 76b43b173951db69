"""Nodes of the split stage."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from flaxline.config import Settings
from flaxline.data.split import predefined_split, stratified_split


class SplitParams(Settings):
    """How the clean rows become train, validation and test."""

    strategy: Literal["auto", "stratified", "predefined"] = Field(
        "auto",
        description="predefined: the data's own split column; auto: predefined when the data has one, else stratified",
    )
    validation_fraction: float = Field(
        0.1, gt=0.0, lt=1.0, description="also the share of train carved out when the data brings no validation split"
    )
    test_fraction: float = Field(0.1, gt=0.0, lt=1.0)
    seed: int = 42

    @model_validator(mode="after")
    def _room_for_train(self) -> SplitParams:
        held_out = self.validation_fraction + self.test_fraction
        if held_out >= 1:
            raise ValueError(f"validation_fraction + test_fraction must stay below 1, not {held_out:g}")
        return self


def split_rows(clean: pd.DataFrame, parameters: SplitParams) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train, validation and test rows, each stratified by label unless the data came split."""
    predefined = parameters.strategy == "predefined" or (parameters.strategy == "auto" and "split" in clean)
    if predefined:
        parts = predefined_split(clean, "label", parameters.validation_fraction, parameters.seed)
    else:
        parts = stratified_split(
            clean, "label", parameters.validation_fraction, parameters.test_fraction, parameters.seed
        )
    return parts["train"], parts["validation"], parts["test"]
