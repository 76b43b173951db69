"""The raw-data dataset of rating tasks: MovieLens in the GroupLens CSV layout (see ``flaxline.ratings.grouplens``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io.core import DatasetError

from flaxline.datasets._raw import RawDataset
from flaxline.ratings.grouplens import ML_LATEST_SMALL, RATINGS, download_movielens, read_grouplens

DOWNLOADS = {"ml-latest-small": ML_LATEST_SMALL}


class GroupLensDataset(RawDataset):
    """``ratings.csv`` (and the titles of an optional ``movies.csv``) in the folder ``filepath``;
    ``download: ml-latest-small`` fetches GroupLens' archive when ratings.csv is missing."""

    def __init__(self, *, filepath: str, download: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        if download is not None and download not in DOWNLOADS:
            raise DatasetError(f"{filepath}: unknown download '{download}'; known: {', '.join(DOWNLOADS)}")
        self._filepath = filepath
        self._download = download
        self.metadata = metadata

    def _read(self) -> pd.DataFrame:
        if self._download and not self._exists():
            download_movielens(self._filepath, DOWNLOADS[self._download])
        return read_grouplens(self._filepath)

    def _exists(self) -> bool:
        return (Path(self._filepath) / RATINGS).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "download": self._download}
