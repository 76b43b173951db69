"""Kedro's ``OmegaConfigLoader``, with each declared task's parameters made whole (``flaxline.kinds``)."""

from __future__ import annotations

from typing import Any

from kedro.config import OmegaConfigLoader

from flaxline.kinds import expand_tasks


class TaskConfigLoader(OmegaConfigLoader):
    """Reads configuration as Kedro does; ``["parameters"]`` also holds every task's merged parameter blocks."""

    def __getitem__(self, key: str) -> dict[str, Any]:
        config = super().__getitem__(key)
        return expand_tasks(config) if key == "parameters" else config
