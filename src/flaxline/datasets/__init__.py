"""Kedro datasets of flaxline (the only package besides ``pipelines`` that imports Kedro)."""

from flaxline.datasets.artifacts import FlaxModelDataset, NpzDataset, TokenizerDataset
from flaxline.datasets.delimited_text import DelimitedTextDataset
from flaxline.datasets.raw_parquet import RawParquetDataset

__all__ = ["DelimitedTextDataset", "FlaxModelDataset", "NpzDataset", "RawParquetDataset", "TokenizerDataset"]
