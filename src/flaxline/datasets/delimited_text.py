"""The raw-data dataset for delimited text files, decoded line by line (see ``flaxline.data.delimited``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io.core import DatasetError

from flaxline.data.delimited import iter_delimited, read_delimited, read_split_files
from flaxline.data.glue import DOWNLOADERS
from flaxline.datasets._errors import input_errors_as_dataset_errors
from flaxline.datasets._raw import RawDataset


class DelimitedTextDataset(RawDataset):
    """A raw table in delimited text files.

    ``filepath`` is one file, or, with ``splits`` (``{train: train.tsv, ...}``), the folder of
    data that comes already split; the frame then has a ``split`` column. ``download`` names a
    downloader of ``flaxline.data.glue.DOWNLOADERS`` that fetches missing split files. A file
    may be compressed (gzip, bz2, xz or zip, told by its content); ``column_names`` names the
    columns of files without a header row. With ``chunk_rows``, a single file loads as an iterator of frames of
    that many rows, read as they are consumed (batch inference streams a file larger than memory).
    """

    def __init__(
        self,
        *,
        filepath: str,
        splits: dict[str, str] | None = None,
        download: str | None = None,
        delimiter: str = ",",
        quoting: bool = True,
        fallback_encodings: list[str] | None = None,
        column_names: list[str] | None = None,
        chunk_rows: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if download is not None and download not in DOWNLOADERS:
            raise DatasetError(f"{filepath}: unknown downloader '{download}'; known: {', '.join(DOWNLOADERS)}")
        if chunk_rows is not None and (splits or not isinstance(chunk_rows, int) or chunk_rows < 1):
            raise DatasetError(f"{filepath}: chunk_rows must be a positive number of rows, for one file (no splits)")
        self._chunk_rows = chunk_rows
        self._filepath = filepath
        self._splits = dict(splits) if splits else None
        self._download = download
        self._options: dict[str, Any] = {
            "delimiter": delimiter,
            "quoting": quoting,
            "fallback_encodings": tuple(fallback_encodings if fallback_encodings is not None else ["mac_roman"]),
            "column_names": column_names,
        }
        self.metadata = metadata

    def _read(self) -> pd.DataFrame | Iterator[pd.DataFrame]:
        if self._chunk_rows is not None:
            return _reported(iter_delimited(self._filepath, chunk_rows=self._chunk_rows, **self._options))
        if self._splits is None:
            return read_delimited(self._filepath, **self._options)
        if self._download and not self._exists():
            DOWNLOADERS[self._download](self._filepath)
        return read_split_files(self._filepath, self._splits, **self._options)

    def _exists(self) -> bool:
        if self._splits is None:
            return Path(self._filepath).is_file()
        return all((Path(self._filepath) / name).is_file() for name in self._splits.values())

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "splits": self._splits,
            "download": self._download,
            "chunk_rows": self._chunk_rows,
            **self._options,
        }


def _reported(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """``chunks``, bad input raised while they are read reaching Kedro as a ``DatasetError`` (as ``load``'s)."""
    with input_errors_as_dataset_errors():
        yield from chunks
