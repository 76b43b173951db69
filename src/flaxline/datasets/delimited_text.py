"""The raw-data dataset: a delimited text file decoded line by line (see ``flaxline.data.delimited``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from flaxline.data.delimited import read_delimited
from flaxline.errors import InputError


class DelimitedTextDataset(AbstractDataset[None, pd.DataFrame]):
    """Read-only: raw data is the project's input, never its output."""

    def __init__(
        self,
        *,
        filepath: str,
        delimiter: str = ",",
        quoting: bool = True,
        fallback_encodings: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = filepath
        self._delimiter = delimiter
        self._quoting = quoting
        self._fallback_encodings = tuple(fallback_encodings if fallback_encodings is not None else ["mac_roman"])
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        try:
            return read_delimited(
                self._filepath, delimiter=self._delimiter, quoting=self._quoting, fallback_encodings=self._fallback_encodings
            )
        except InputError as error:
            raise DatasetError(str(error)) from None

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath}: raw data is read-only")

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "delimiter": self._delimiter, "fallback_encodings": self._fallback_encodings}
