"""A versioned file dataset on any ``fsspec`` filesystem whose subclasses only convert to and from bytes."""

from __future__ import annotations

from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractVersionedDataset, DatasetError, Version, get_filepath_str, get_protocol_and_path

from flaxline.datasets._errors import input_errors_as_dataset_errors
from flaxline.errors import InputError


class FileSystemDataset(AbstractVersionedDataset):
    """A versioned path on any ``fsspec`` filesystem (a file or a folder): what flaxline's file datasets share."""

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        fs_args = deepcopy(fs_args) or {}
        protocol, path = get_protocol_and_path(filepath, version)
        if protocol == "file":
            fs_args.setdefault("auto_mkdir", True)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(deepcopy(credentials) or {}), **fs_args)
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path), version=version, exists_function=self._fs.exists, glob_function=self._fs.glob
        )

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "protocol": self._protocol, "version": self._version}

    def _release(self) -> None:
        super()._release()
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))


class BytesDataset(FileSystemDataset):
    """Reads and writes one file; subclasses define ``encode`` (object → bytes) and ``decode``."""

    def encode(self, data: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes, source: str) -> Any:
        raise NotImplementedError

    def load(self) -> Any:
        path = get_filepath_str(self._get_load_path(), self._protocol)
        with input_errors_as_dataset_errors():
            if not self._fs.exists(path):
                raise InputError(f"{path}: file does not exist")
            with self._fs.open(path, "rb") as file:
                return self.decode(file.read(), path)

    def save(self, data: Any) -> None:
        path = get_filepath_str(self._get_save_path(), self._protocol)
        payload = self.encode(data)
        with self._fs.open(path, "wb") as file:
            file.write(payload)
        self._fs.invalidate_cache(get_filepath_str(self._filepath, self._protocol))

    def _exists(self) -> bool:
        try:
            path = get_filepath_str(self._get_load_path(), self._protocol)
        except DatasetError:
            return False
        return self._fs.exists(path)
