"""A table written chunk by chunk: a folder of Parquet parts, one per save, read back as one frame."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from kedro.io.core import DatasetError, get_filepath_str
from kedro_datasets._typing import TablePreview

from flaxline.datasets._bytes import FileSystemDataset


class ParquetPartsDataset(FileSystemDataset):
    """A table as a folder of Parquet files (``part-00000.parquet``, ...), which pandas, pyarrow and Spark read as
    one table.

    Each ``save`` of one run adds the next part, so a generator node (Kedro saves each chunk it yields) streams a
    table larger than memory into one version; the first save of a run starts the folder afresh. ``load`` reads the
    parts in order as one frame.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._parts_saved = 0  # by this run: the first starts the folder afresh

    def _folder(self) -> str:
        version = self.resolve_save_version()
        path = self._get_versioned_path(version) if self._version and version else self._filepath
        return get_filepath_str(path, self._protocol)

    def save(self, data: pd.DataFrame) -> None:
        if self._parts_saved and data.empty:  # the first part is saved even if empty: the table exists
            return
        folder = self._folder()
        if self._parts_saved == 0 and self._fs.exists(folder):
            if self._version:
                raise DatasetError(f"{folder}: the version to save exists already")
            self._fs.rm(folder, recursive=True)
        self._fs.makedirs(folder, exist_ok=True)
        buffer = io.BytesIO()
        data.to_parquet(buffer, index=False)
        with self._fs.open(f"{folder}/part-{self._parts_saved:05d}.parquet", "wb") as file:
            file.write(buffer.getvalue())
        self._parts_saved += 1
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _parts(self) -> list[str]:
        folder = get_filepath_str(self._get_load_path(), self._protocol)
        return sorted(self._fs.glob(f"{folder}/part-*.parquet"))

    def load(self) -> pd.DataFrame:
        parts = self._parts()
        if not parts:
            raise DatasetError(f"{self._filepath}: no saved parts")
        frames = []
        for part in parts:
            with self._fs.open(part, "rb") as file:
                frames.append(pd.read_parquet(file))
        return pd.concat(frames, ignore_index=True)

    def preview(self, nrows: int = 5) -> TablePreview:
        """The first ``nrows`` rows, for Kedro-Viz."""
        with self._fs.open(self._parts()[0], "rb") as file:
            head = pd.read_parquet(file).head(nrows)
        return TablePreview(head.to_dict(orient="split"))

    def _exists(self) -> bool:
        try:
            return bool(self._parts())
        except DatasetError:
            return False
