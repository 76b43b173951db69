"""Several saved versions of one artifact in one run (Kedro's ``--load-versions`` picks one per dataset)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flaxline.errors import InputError


@dataclass(frozen=True)
class SavedVersions:
    """The saved versions of a versioned dataset at ``source``, newest first, each read on demand; ``elsewhere``
    names the same dataset of other tasks that holds a version this one lacks."""

    source: str
    loaders: Mapping[str, Callable[[], Any]]
    elsewhere: dict[str, str] = field(default_factory=dict)

    def load(self, version: str) -> Any:
        """The artifact saved as ``version``; a version it does not hold is one line naming what it holds."""
        if version not in self.loaders:
            if version in self.elsewhere:
                other = self.elsewhere[version]
                raise InputError(f"{self.source}: version '{version}' belongs to another task ({other})")
            saved = ", ".join(list(self.loaders)[:5]) or "none"
            raise InputError(f"{self.source}: no version '{version}' (newest saved: {saved})")
        return self.loaders[version]()

    def newest(self, count: int) -> list[str]:
        """The ``count`` newest versions; fewer is one line."""
        if len(self.loaders) < count:
            raise InputError(f"{self.source}: {len(self.loaders)} saved version(s), {count} wanted")
        return list(self.loaders)[:count]
