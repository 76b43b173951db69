"""The base of the raw-data datasets: read-only, and bad input is one line that keeps its cause."""

from __future__ import annotations

from abc import abstractmethod

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from flaxline.errors import InputError


class RawDataset(AbstractDataset[None, pd.DataFrame]):
    """Read-only: raw data is the project's input, never its output.

    A reader's ``InputError`` becomes a ``DatasetError`` (Kedro passes those on unchanged) raised
    from it, so that ``flaxline.errors.find_user_error`` still knows it for bad input.
    """

    _filepath: str

    @abstractmethod
    def _read(self) -> pd.DataFrame: ...

    def load(self) -> pd.DataFrame:
        try:
            return self._read()
        except InputError as error:
            raise DatasetError(str(error)) from error

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath}: raw data is read-only")
