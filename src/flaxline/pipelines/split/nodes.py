"""Nodes of the split stage."""

from __future__ import annotations

import pandas as pd

from flaxline.data.split import predefined_split, stratified_split
from flaxline.errors import InputError


def split_data(clean: pd.DataFrame, parameters: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train, validation and test frames: ``stratified`` (fractions and seed from parameters) or ``predefined``."""
    strategy = parameters.get("strategy", "stratified")
    if strategy == "predefined":
        parts = predefined_split(clean)
    elif strategy == "stratified":
        parts = stratified_split(
            clean, "label", parameters["validation_fraction"], parameters["test_fraction"], parameters["seed"]
        )
    else:
        raise InputError(f"unknown split strategy '{strategy}'; known: stratified, predefined")
    return parts["train"], parts["validation"], parts["test"]
