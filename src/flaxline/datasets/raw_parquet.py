"""The raw-data dataset for a parquet file (see ``flaxline.data.parquet``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from flaxline.data.parquet import read_parquet_table
from flaxline.datasets._raw import RawDataset


class RawParquetDataset(RawDataset):
    """A raw table in one parquet file; unlike ``pandas.ParquetDataset`` its errors name the file
    in one line, and the frame carries the path (``attrs["source"]``) for the stage's messages."""

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = filepath
        self.metadata = metadata

    def _read(self) -> pd.DataFrame:
        return read_parquet_table(self._filepath)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}
