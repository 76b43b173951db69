"""Every saved version of a versioned file dataset, as one read-only dataset."""

from __future__ import annotations

from functools import partial
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, Version, get_protocol_and_path, parse_dataset_definition

from flaxline.data.versions import SavedVersions


class VersionsDataset(AbstractDataset):
    """The versions saved at ``filepath`` by the versioned dataset ``dataset`` (its type, or its config without the
    path), newest first, each loaded when asked for.

    Example: ``{task}.model_versions`` beside ``{task}.model``, so that one node reads several model versions.
    Versions of the same dataset of other tasks (``<layer>/<other task>/<file>``) are named in errors.
    """

    def __init__(self, *, filepath: str, dataset: str | dict[str, Any], metadata: dict[str, Any] | None = None):
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        self._dataset_type, self._dataset_config = parse_dataset_definition(config)
        self._filepath = filepath
        protocol, path = get_protocol_and_path(filepath)
        self._fs, self._path = fsspec.filesystem(protocol), PurePosixPath(path)
        self.metadata = metadata

    def _versions(self, path: PurePosixPath) -> list[str]:
        found = self._fs.glob(str(path / "*" / path.name))
        return sorted((PurePosixPath(found_path).parent.name for found_path in found), reverse=True)

    def load(self) -> SavedVersions:
        loaders = {version: partial(self._load_version, version) for version in self._versions(self._path)}
        task_folder = self._path.parent
        elsewhere = {
            version: str(other / self._path.name)
            for other in map(PurePosixPath, self._fs.glob(str(task_folder.parent / "*")))
            if other != task_folder
            for version in self._versions(other / self._path.name)
        }
        return SavedVersions(str(self._path), loaders, elsewhere)

    def _load_version(self, version: str) -> Any:
        versioned: Any = self._dataset_type  # a versioned file dataset: it takes a filepath and a version
        return versioned(filepath=self._filepath, version=Version(version, None), **self._dataset_config).load()

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self._path}: the saved versions are read-only; save through the dataset itself")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "dataset": self._dataset_type.__name__}

    def _exists(self) -> bool:
        return bool(self._versions(self._path))
