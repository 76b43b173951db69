"""Reading a folder of image files, one sub-folder per class, into raw image rows.

Every file becomes a row, also one that is not an image or cannot be decoded: its
``read_error`` says why, and the cleaning stage rejects it with that reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from flaxline.errors import InputError
from flaxline.images.idx import raw_image_frame

COLOR_MODES = ("keep", "grayscale", "rgb")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
# What "keep" keeps; palette, bilevel, CMYK and the other modes become RGB.
KEPT_MODES = ("L", "RGB", "RGBA")
# What Pillow raises for a file it cannot decode.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def read_image_folder(
    folder: str | Path,
    color_mode: str = "keep",
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
) -> pd.DataFrame:
    """Raw image rows of the files in ``folder``'s class sub-folders, labelled with the sub-folder's name.

    Classes, and the files in each, are in name order; hidden entries are skipped. Files directly
    in ``folder`` are rows with an empty label. ``color_mode`` is "keep" (L, RGB and RGBA as they
    are, other modes as RGB), "grayscale" or "rgb".
    """
    folder = Path(folder)
    if color_mode not in COLOR_MODES:
        raise InputError(f"{folder}: unknown color_mode '{color_mode}'; known: {', '.join(COLOR_MODES)}")
    if not folder.exists():
        raise InputError(f"{folder}: folder does not exist")
    if not folder.is_dir():
        raise InputError(f"{folder}: is not a folder")
    entries = _visible_entries(folder)
    if not any(entry.is_dir() for entry in entries):
        raise InputError(f"{folder}: no class sub-folders; put the images of each class in a sub-folder named after it")
    files: list[tuple[Path, str]] = []
    for entry in entries:
        files += [(path, entry.name) for path in _visible_entries(entry)] if entry.is_dir() else [(entry, "")]
    suffixes = {extension.lower() for extension in extensions}
    read = [_read_image(path, color_mode, suffixes) for path, _ in files]
    return raw_image_frame(
        [image for image, _ in read],
        [label for _, label in files],
        [path.relative_to(folder).as_posix() for path, _ in files],
        [error for _, error in read],
        str(folder),
    )


def _visible_entries(folder: Path) -> list[Path]:
    try:
        return sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))
    except OSError as error:
        raise InputError(f"{folder}: cannot be listed ({error.strerror})") from None


def _read_image(path: Path, color_mode: str, suffixes: set[str]) -> tuple[np.ndarray | None, str]:
    """The pixels of the image file at ``path`` and "", or None and why it could not be read."""
    if not path.is_file():
        return None, "a folder, not an image file" if path.is_dir() else "not a regular file"
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        return None, f"not an image file ({suffix or 'no extension'})"
    try:
        return _decode(path, color_mode), ""
    except DECODE_ERRORS as error:
        # Pillow names the file, which the row's source already does.
        message = str(error).replace(f" {os.fspath(path)!r}", "")
        return None, message.splitlines()[0] if message else type(error).__name__


def _decode(path: Path, color_mode: str) -> np.ndarray:
    """The uint8 [height, width, channels] pixels of the image file at ``path``, in ``color_mode``."""
    with Image.open(path) as image:
        image.load()
        # Converting wider pixels to 8 bits clips them (a 16-bit 1000 becomes 255), which would spoil the data unseen.
        if image.mode.split(";")[0] in ("I", "F"):
            raise ValueError(f"{image.mode} pixels are wider than 8 bits; convert the image to 8-bit first")
        pixels = np.asarray(_converted(image, color_mode), dtype=np.uint8)
    return pixels[..., np.newaxis] if pixels.ndim == 2 else pixels


def _converted(image: Image.Image, color_mode: str) -> Image.Image:
    if color_mode == "grayscale":
        return image.convert("L")
    if color_mode == "rgb" or image.mode not in KEPT_MODES:
        return image.convert("RGB")
    return image
