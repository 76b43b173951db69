"""An exported model as a versioned folder of files, loaded as a runnable ``ExportedClassifier``."""

from __future__ import annotations

from pathlib import PurePosixPath

from kedro.io.core import DatasetError, get_filepath_str

from flaxline.datasets._bytes import FileSystemDataset
from flaxline.datasets._errors import input_errors_as_dataset_errors
from flaxline.serving.exported import ExportedClassifier


class ExportFolderDataset(FileSystemDataset):
    """Saves a mapping of file names to bytes as one folder (``flaxline.serving.export``); loads the folder as an
    ``ExportedClassifier``, its files checked against the manifest."""

    def save(self, data: dict[str, bytes]) -> None:
        folder = get_filepath_str(self._get_save_path(), self._protocol)
        self._fs.makedirs(folder, exist_ok=True)
        for name, payload in data.items():
            with self._fs.open(f"{folder}/{name}", "wb") as file:
                file.write(payload)
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def load(self) -> ExportedClassifier:
        folder = get_filepath_str(self._get_load_path(), self._protocol)
        if not self._fs.isdir(folder):
            raise DatasetError(f"{folder}: no such export folder")
        files = {}
        for path in self._fs.ls(folder, detail=False):
            with self._fs.open(path, "rb") as file:
                files[PurePosixPath(path).name] = file.read()
        with input_errors_as_dataset_errors():
            return ExportedClassifier(files, folder)

    def _exists(self) -> bool:
        try:
            return self._fs.isdir(get_filepath_str(self._get_load_path(), self._protocol))
        except DatasetError:
            return False
