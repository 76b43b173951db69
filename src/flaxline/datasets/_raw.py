"""The base of the raw-data datasets: read-only, and bad input is one line that keeps its cause."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from flaxline.datasets._errors import input_errors_as_dataset_errors


class RawDataset(AbstractDataset[None, pd.DataFrame]):
    """Read-only: raw data is the project's input, never its output.

    A reader's ``InputError`` reaches Kedro as a ``DatasetError`` raised from it.
    """

    _filepath: str

    @abstractmethod
    def _read(self) -> pd.DataFrame | Iterator[pd.DataFrame]: ...

    def load(self) -> pd.DataFrame | Iterator[pd.DataFrame]:
        with input_errors_as_dataset_errors():
            return self._read()

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath}: raw data is read-only")
