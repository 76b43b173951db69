"""The raw-data datasets of image classification: IDX files, a folder of image files, scikit-learn's digits.

Each loads a frame of raw image rows (see ``flaxline.images.idx.raw_image_frame``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io.core import DatasetError

from flaxline.datasets._raw import RawDataset
from flaxline.images.digits import DIGITS_SOURCE, read_sklearn_digits
from flaxline.images.folder import COLOR_MODES, read_image_folder
from flaxline.images.idx import (
    DOWNLOADS,
    FASHION_MNIST_CLASSES,
    IDX_SPLITS,
    download_idx,
    idx_split_files,
    read_idx_images,
)


class IdxImageDataset(RawDataset):
    """Images and labels in IDX files (MNIST's format), one pair per split, in the folder ``filepath``.

    ``splits`` maps each split to its ``{images: file name, labels: file name}`` (MNIST's four files
    by default); the frame has a ``split`` column. ``download`` ("mnist" or "fashion_mnist")
    fetches the published files when some are missing (with MNIST's own file names only). Labels
    become ``label_names[label]`` when names are given (Fashion-MNIST's class names by default
    with its download), else their decimal text.
    """

    def __init__(
        self,
        *,
        filepath: str,
        splits: dict[str, dict[str, str]] | None = None,
        download: str | None = None,
        label_names: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if download is not None and download not in DOWNLOADS:
            raise DatasetError(f"{filepath}: unknown download '{download}'; known: {', '.join(DOWNLOADS)}")
        if download is not None and splits is not None and splits != IDX_SPLITS:
            raise DatasetError(f"{filepath}: download fetches MNIST's own files; it cannot fill other splits")
        if label_names is None and download == "fashion_mnist":
            label_names = list(FASHION_MNIST_CLASSES)
        self._filepath = filepath
        self._splits = splits if splits is not None else IDX_SPLITS
        self._download = download
        self._label_names = list(label_names) if label_names is not None else None
        self.metadata = metadata

    def _read(self) -> pd.DataFrame:
        if self._download and not self._exists():
            download_idx(self._filepath, self._download)
        return read_idx_images(self._filepath, self._splits, self._label_names)

    def _exists(self) -> bool:
        files = idx_split_files(Path(self._filepath), self._splits)
        return all(path.is_file() for pair in files.values() for path in pair)

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "splits": self._splits,
            "download": self._download,
            "label_names": self._label_names,
        }


class ImageFolderDataset(RawDataset):
    """Image files in ``filepath``, one sub-folder per class; ``color_mode`` is "keep", "grayscale" or "rgb"."""

    def __init__(self, *, filepath: str, color_mode: str = "keep", metadata: dict[str, Any] | None = None) -> None:
        if color_mode not in COLOR_MODES:
            raise DatasetError(f"{filepath}: unknown color_mode '{color_mode}'; known: {', '.join(COLOR_MODES)}")
        self._filepath = filepath
        self._color_mode = color_mode
        self.metadata = metadata

    def _read(self) -> pd.DataFrame:
        return read_image_folder(self._filepath, self._color_mode)

    def _exists(self) -> bool:
        return Path(self._filepath).is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "color_mode": self._color_mode}


class SklearnDigitsDataset(RawDataset):
    """scikit-learn's 1,797 8×8 handwritten digits, shipped with scikit-learn (no file, no download)."""

    def __init__(self, *, metadata: dict[str, Any] | None = None) -> None:
        # Names the data in the read-only error of ``save``.
        self._filepath = DIGITS_SOURCE
        self.metadata = metadata

    def _read(self) -> pd.DataFrame:
        return read_sklearn_digits()

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"source": DIGITS_SOURCE}
