"""Nodes of the split stage."""

from __future__ import annotations

import pandas as pd

from flaxline.data.split import stratified_split


def split_data(clean: pd.DataFrame, parameters: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified train, validation and test frames, with fractions and seed from parameters."""
    parts = stratified_split(
        clean, "label", parameters["validation_fraction"], parameters["test_fraction"], parameters["seed"]
    )
    return parts["train"], parts["validation"], parts["test"]
