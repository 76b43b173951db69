"""Kedro datasets of flaxline (the only package besides ``pipelines`` that imports Kedro)."""

from flaxline.datasets.artifacts import FlaxModelDataset, NpzDataset, TokenizerDataset
from flaxline.datasets.delimited_text import DelimitedTextDataset

__all__ = ["DelimitedTextDataset", "FlaxModelDataset", "NpzDataset", "TokenizerDataset"]
