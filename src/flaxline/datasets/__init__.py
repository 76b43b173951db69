"""Kedro datasets of flaxline (the only package besides ``pipelines`` that imports Kedro)."""

from flaxline.datasets.array_table import ArrayCellsParquetDataset
from flaxline.datasets.artifacts import FlaxModelDataset, NpzDataset, TokenizerDataset
from flaxline.datasets.delimited_text import DelimitedTextDataset
from flaxline.datasets.export_folder import ExportFolderDataset
from flaxline.datasets.images import IdxImageDataset, ImageFolderDataset, SklearnDigitsDataset
from flaxline.datasets.parquet_parts import ParquetPartsDataset
from flaxline.datasets.ratings import GroupLensDataset
from flaxline.datasets.raw_parquet import RawParquetDataset
from flaxline.datasets.versions import VersionsDataset

__all__ = [
    "ArrayCellsParquetDataset",
    "DelimitedTextDataset",
    "ExportFolderDataset",
    "FlaxModelDataset",
    "GroupLensDataset",
    "IdxImageDataset",
    "ImageFolderDataset",
    "NpzDataset",
    "ParquetPartsDataset",
    "RawParquetDataset",
    "SklearnDigitsDataset",
    "TokenizerDataset",
    "VersionsDataset",
]
