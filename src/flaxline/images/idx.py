"""The IDX format of MNIST and Fashion-MNIST: reading, writing, and fetching the published files.

An IDX file is a big-endian header (two zero bytes, a type code, the number of dimensions, then
each dimension as a uint32) followed by the array's data in C order; the published files are
gzipped. This module also builds the frame of raw image rows that every image reader returns:
one row per image, its pixels as bytes, and a ``read_error`` instead of dropping what failed.
"""

from __future__ import annotations

import gzip
import http.client
import math
import os
import shutil
import struct
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from flaxline.errors import InputError, shown

RAW_IMAGE_COLUMNS = ("row", "label", "image", "height", "width", "channels", "source", "read_error")

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"

IDX_SPLITS = {
    "train": {"images": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz"},
    "test": {"images": "t10k-images-idx3-ubyte.gz", "labels": "t10k-labels-idx1-ubyte.gz"},
}
# The shapes of the published files, which a download is checked against.
IDX_SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}
IDX_FILES = tuple(IDX_SHAPES)
DOWNLOADS = {
    "mnist": {"base_url": "https://storage.googleapis.com/cvdf-datasets/mnist/"},
    "fashion_mnist": {"base_url": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"},
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def raw_image_frame(
    images: Sequence[np.ndarray | None],
    labels: Sequence[str],
    sources: Sequence[str],
    errors: Sequence[str],
    source: str,
) -> pd.DataFrame:
    """The raw image rows of ``images`` (uint8 [height, width, channels], or None where unreadable).

    ``row`` is the 1-based position in ``images``; ``attrs["source"]`` is ``source``.
    """
    shapes = np.array([(0, 0, 0) if image is None else image.shape for image in images], dtype=np.int64).reshape(-1, 3)
    frame = pd.DataFrame(
        {
            "row": np.arange(1, len(images) + 1, dtype=np.int64),
            "label": pd.Series(labels, dtype="str"),
            "image": pd.Series([b"" if image is None else image.tobytes() for image in images], dtype=object),
            "height": shapes[:, 0],
            "width": shapes[:, 1],
            "channels": shapes[:, 2],
            "source": pd.Series(sources, dtype="str"),
            "read_error": pd.Series(errors, dtype="str"),
        }
    )
    frame.attrs["source"] = source
    return frame


def read_idx(path: str | Path) -> np.ndarray:
    """The array in an IDX file, plain or gzipped (told apart by gzip's magic bytes, whatever the name)."""
    path = Path(path)
    raw = _read_bytes(path)
    if raw[:2] == GZIP_MAGIC:
        raw = _gunzip(path, raw)
    dtype, shape, offset = _idx_header(path, raw)
    needed, found = math.prod(shape) * dtype.itemsize, len(raw) - offset
    if found < needed:
        raise InputError(f"{path}: truncated: dimensions {list(shape)} need {needed:,} bytes of data, found {found:,}")
    if found > needed:
        raise InputError(f"{path}: {found - needed:,} trailing bytes after the data of dimensions {list(shape)}")
    return np.frombuffer(memoryview(raw)[offset:], dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped when the name ends in ``.gz``."""
    path, array = Path(path), np.asarray(array)
    big_endian = array.dtype.newbyteorder(">")
    codes = [code for code, name in IDX_TYPES.items() if np.dtype(name) == big_endian]
    if not codes:
        raise InputError(f"{path}: IDX holds uint8, int8, int16, int32, float32 or float64 data, not {array.dtype}")
    header = struct.pack(f">2xBB{array.ndim}I", codes[0], array.ndim, *array.shape)
    data = header + array.astype(big_endian).tobytes()
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: file does not exist")
    if not path.is_file():
        raise InputError(f"{path}: is not a file")
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror})") from None


def _gunzip(path: Path, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(f"{path}: corrupt gzip data ({error})") from None


def _idx_header(path: Path, raw: bytes) -> tuple[np.dtype, tuple[int, ...], int]:
    """The data type, the dimensions and the offset of the data, from the header of ``raw``."""
    if not raw:
        raise InputError(f"{path}: file is empty")
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_TYPES:
        raise InputError(
            f"{path}: not an IDX file: bad magic {raw[:4].hex(' ')} (expected 00 00, "
            f"a type code ({', '.join(f'{code:02x}' for code in IDX_TYPES)}), the number of dimensions)"
        )
    ndim, offset = raw[3], 4 + 4 * raw[3]
    if len(raw) < offset:
        raise InputError(f"{path}: truncated: the header declares {ndim} dimensions but ends after {len(raw)} bytes")
    return np.dtype(IDX_TYPES[raw[2]]), struct.unpack(f">{ndim}I", raw[4:offset]), offset


def idx_split_files(folder: Path, splits: Mapping[str, Mapping[str, str]]) -> dict[str, tuple[Path, Path]]:
    """The images and labels file of each split, checking that ``splits`` names both for each."""
    if not isinstance(splits, Mapping) or not splits:
        raise InputError(f"{folder}: splits must map split names to their images and labels files, not {shown(splits)}")
    files = {}
    for split, names in splits.items():
        if not isinstance(names, Mapping) or set(names) != {"images", "labels"}:
            raise InputError(f"{folder}: split '{split}' must be {{images: file, labels: file}}, not {shown(names)}")
        files[split] = (folder / names["images"], folder / names["labels"])
    return files


def read_idx_images(
    folder: str | Path,
    splits: Mapping[str, Mapping[str, str]],
    label_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Raw image rows of IDX images and labels, one pair of files per split, with a ``split`` column.

    ``row`` counts within each split's file. Labels become their decimal text, or
    ``label_names[label]`` when names are given.
    """
    folder = Path(folder)
    frames = [
        _idx_split_frame(images, labels, label_names).assign(split=split)
        for split, (images, labels) in idx_split_files(folder, splits).items()
    ]
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs = {"source": str(folder)}
    return frame


def _idx_split_frame(images_path: Path, labels_path: Path, label_names: Sequence[str] | None) -> pd.DataFrame:
    images = read_idx(images_path)
    if images.dtype != np.uint8:
        raise InputError(f"{images_path}: images must be unsigned bytes (IDX type 08), not {images.dtype}")
    if images.ndim not in (3, 4):
        raise InputError(f"{images_path}: images must be [count, height, width(, channels)], not {list(images.shape)}")
    labels = read_idx(labels_path)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        found = f"{labels.dtype} {list(labels.shape)}"
        raise InputError(f"{labels_path}: labels must be one integer per image, not {found}")
    if len(labels) != len(images):
        raise InputError(f"{labels_path}: {len(labels):,} labels for the {len(images):,} images of {images_path.name}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    sources = [f"{images_path.name}[{index}]" for index in range(len(images))]
    texts = _label_texts(labels_path, labels, label_names)
    return raw_image_frame(list(images), texts, sources, [""] * len(images), str(images_path))


def _label_texts(labels_path: Path, labels: np.ndarray, label_names: Sequence[str] | None) -> list[str]:
    if label_names is None:
        return [str(label) for label in labels.tolist()]
    outside = np.flatnonzero((labels < 0) | (labels >= len(label_names)))
    if outside.size:
        index = outside[0]
        names = len(label_names)
        raise InputError(f"{labels_path}: label {labels[index]} at index {index} is outside the {names} label names")
    return [label_names[label] for label in labels.tolist()]


def download_idx(folder: str | Path, name: str, timeout: float = 60.0, base_url: str | None = None) -> None:
    """Download the ``IDX_FILES`` of ``DOWNLOADS[name]`` that ``folder`` lacks, then check the shapes of all four.

    A failed download is one line naming the URL and the files to put there by hand.
    """
    folder = Path(folder)
    if name not in DOWNLOADS:
        raise InputError(f"{folder}: unknown IDX download '{name}'; known: {', '.join(DOWNLOADS)}")
    base_url = base_url or DOWNLOADS[name]["base_url"]
    for file in IDX_FILES:
        if (folder / file).is_file():
            continue
        url = base_url + file
        try:
            _download(url, folder / file, timeout)
        except (OSError, http.client.HTTPException) as error:
            missing = [other for other in IDX_FILES if not (folder / other).is_file()]
            raise InputError(
                f"{folder}: {name} files are missing and {url} could not be downloaded ({error}); "
                f"put {', '.join(missing)} there by hand"
            ) from None
    for file in IDX_FILES:
        _check_published_shape(folder / file, IDX_SHAPES[file])


def _download(url: str, target: Path, timeout: float) -> None:
    """Fetch ``url`` into ``target`` by way of a temporary name, so that a cut download never looks complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _check_published_shape(path: Path, shape: tuple[int, ...]) -> None:
    # A wrong file (a proxy's error page, another data set) stays and would not be fetched again: say how to retry.
    try:
        found = read_idx(path).shape
    except InputError as error:
        raise InputError(f"{error}; delete it to download it again") from None
    if found != shape:
        raise InputError(f"{path}: shape {found}, not the published {shape}; delete it to download it again")
