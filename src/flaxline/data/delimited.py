"""Reading delimited text files whose lines may be in different encodings.

Real corpora mix encodings line by line (a UTF-8 file with pasted Mac Roman lines, say), so
each physical line is decoded on its own: as UTF-8 when it is valid, else with the first
fallback encoding that accepts it. Records are then parsed with the ``csv`` module, so quoted
fields may span lines. Every record comes back, also a malformed one: a record whose field
count differs from the header's is kept with a ``parse_error`` so that a later stage can
account for it.

A file may be compressed (gzip, bz2, xz, or a zip archive of one file): its magic bytes say so,
whatever its name, and it is decompressed in memory; line numbers then count the lines of the
decompressed text. A file without a header row is read with ``column_names``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from flaxline.errors import InputError, shown

SOURCE_LINE = "source_line"
SOURCE_ENCODING = "source_encoding"
PARSE_ERROR = "parse_error"
PROVENANCE_COLUMNS = (SOURCE_LINE, SOURCE_ENCODING, PARSE_ERROR)

# csv's own limit (128 KiB) is below what a real corpus can hold in one field.
csv.field_size_limit(64 * 1024 * 1024)

# bz2's "BZh" is followed by the block size digit, so a plain file whose header starts with "BZh" stays plain.
ARCHIVE_MAGIC = {
    "gzip": (b"\x1f\x8b",),
    "bz2": tuple(b"BZh%d" % level for level in range(1, 10)),
    "xz": (b"\xfd7zXZ\x00",),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),  # the second is an empty archive: its end record only
}
# What the decompressors raise on a corrupt or truncated archive (bz2 and zipfile raise ValueError too).
_ARCHIVE_ERRORS = (OSError, EOFError, ValueError, RuntimeError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)


def decode_lines(raw: bytes, fallback_encodings: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``raw`` on newlines and decode each line; returns the lines and each one's encoding."""
    lines, encodings = [], []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        line = line.removesuffix(b"\r")
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        text, encoding = _decode_line(line, fallback_encodings)
        if text is None:
            if not fallback_encodings:
                raise InputError(f"line {number} is not valid utf-8 (and no fallback encodings are configured)")
            raise InputError(f"line {number} is valid in none of utf-8, {', '.join(fallback_encodings)}")
        lines.append(text)
        encodings.append(encoding)
    if lines and lines[-1] == "":
        lines.pop()
        encodings.pop()
    return lines, encodings


def _decode_line(line: bytes, fallback_encodings: Sequence[str]) -> tuple[str | None, str]:
    for encoding in ("utf-8", *fallback_encodings):
        try:
            return line.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None, ""


def read_delimited(
    path: str | Path,
    *,
    delimiter: str = ",",
    quoting: bool = True,
    fallback_encodings: Sequence[str] = ("mac_roman",),
    column_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a delimited file, possibly compressed, into a frame of strings.

    Columns are the header's, or ``column_names`` for a file without a header row, plus
    ``source_line`` (1-based line of the record's start), ``source_encoding`` and
    ``parse_error`` (empty when the record parsed cleanly). Blank lines are not records.
    ``frame.attrs`` holds the source path, the encoding counts and the compression (or None).
    """
    path = Path(path)
    check_file(path)
    if column_names is not None:
        _check_given_names(path, column_names)
    raw, compression = decompress(path, path.read_bytes())
    lines, encodings = _text_lines(path, raw, fallback_encodings)

    reader = csv.reader(
        (line + "\n" for line in lines),
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        strict=False,
    )
    try:
        if column_names is None:
            header = [name.strip() for name in next(reader)]
            _check_header(path, header, delimiter)
        else:
            header = list(column_names)
        consumed = reader.line_num
        records, starts, record_encodings, errors = [], [], [], []
        for fields in reader:
            first, consumed = consumed + 1, reader.line_num
            if not fields:
                continue
            if len(fields) != len(header):
                spans = f" (the record spans lines {first}-{consumed})" if consumed > first else ""
                errors.append(f"expected {len(header)} fields, found {len(fields)}{spans}")
                fields = (fields + [""] * len(header))[: len(header)]
            else:
                errors.append("")
            records.append(fields)
            starts.append(first)
            spanned = set(encodings[first - 1 : consumed])
            record_encodings.append("utf-8" if spanned == {"utf-8"} else next(iter(spanned - {"utf-8"})))
    except csv.Error as error:
        message = str(error)
        if "new-line character" in message:
            message = "a carriage return (\\r) inside an unquoted field; lines must end in \\n or \\r\\n"
        raise InputError(f"{path}: line {reader.line_num}: {message}") from None
    if quoting and records and _quote_left_open(lines[starts[-1] - 1 :], delimiter):
        errors[-1] = (
            f"a quoted field opened here is never closed: the record runs to the end of the file (line {len(lines)})"
        )

    frame = pd.DataFrame(records, columns=header, dtype="str")
    frame[SOURCE_LINE] = pd.array(starts, dtype="int64")
    frame[SOURCE_ENCODING] = record_encodings
    frame[PARSE_ERROR] = errors
    frame.attrs["source"] = str(path)
    frame.attrs["encodings"] = dict(Counter(record_encodings))
    frame.attrs["compression"] = compression
    return frame


def _text_lines(path: Path, raw: bytes, fallback_encodings: Sequence[str]) -> tuple[list[str], list[str]]:
    """The lines of a file's (decompressed) bytes, decoded, and their encodings; one line naming ``path`` if no text."""
    if not raw.strip():
        raise InputError(f"{path}: file is empty")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError(f"{path}: line {line}: NUL bytes; this is a binary or UTF-16 file, not delimited text")
    try:
        return decode_lines(raw, fallback_encodings)
    except InputError as error:
        raise InputError(f"{path}: {error}") from None


def decompress(path: Path, raw: bytes) -> tuple[bytes, str | None]:
    """``raw`` decompressed, with the archive kind its magic bytes name; unchanged, with None, when it is no archive."""
    kind = next((kind for kind, magic in ARCHIVE_MAGIC.items() if raw.startswith(magic)), None)
    if kind is None:
        return raw, None
    try:
        return _DECOMPRESSORS[kind](raw), kind
    except InputError as error:  # the zip's own message; caught first, as an InputError is a ValueError
        raise InputError(f"{path}: {error}") from None
    except _ARCHIVE_ERRORS as error:
        raise InputError(f"{path}: not a readable {kind} file ({_first_line(error)})") from None


def _first_line(error: Exception) -> str:
    """The first line of ``error``'s message, or its type's name when the message is empty: reports stay one line."""
    return str(error).partition("\n")[0] or type(error).__name__


def _unzip(raw: bytes) -> bytes:
    """The one file a zip archive holds, not counting folders and macOS's ``__MACOSX/`` metadata."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
        if len(members) != 1:
            raise InputError(f"a zip archive must hold exactly one file; this one holds {_listing(members)}")
        return archive.read(members[0])


def _listing(members: Sequence[zipfile.ZipInfo], limit: int = 5) -> str:
    """The names of ``members``, the first ``limit`` of them when there are more, so that the message stays short."""
    if not members:
        return "none"
    names = ", ".join(shown(member.filename) for member in members[:limit])
    return names + (f" and {len(members) - limit} more" if len(members) > limit else "")


_DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "bz2": bz2.decompress,
    "xz": lzma.decompress,
    "zip": _unzip,
}


def check_file(path: Path) -> None:
    """One line naming ``path`` when it is not an existing file."""
    if not path.exists():
        raise InputError(f"{path}: file does not exist")
    if not path.is_file():
        raise InputError(f"{path}: is not a file")


def check_column_names(location: str, names: Sequence[str]) -> None:
    """Column names are unique and leave the provenance columns (``source_line``, ...) to the reader."""
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise InputError(f"{location}: duplicate column names [{', '.join(map(shown, duplicated))}]")
    clashing = sorted(set(names) & set(PROVENANCE_COLUMNS))
    if clashing:
        raise InputError(f"{location}: column names {clashing} are reserved")


def _quote_left_open(lines: Sequence[str], delimiter: str) -> bool:
    """Whether the last record's quoted field runs to the end of the file.

    The lenient reader (which tolerates stray quotes inside fields) takes such a record
    silently, with every later line inside one field; the strict reader reports it.
    """
    try:
        for _ in csv.reader((line + "\n" for line in lines), delimiter=delimiter, strict=True):
            pass
    except csv.Error as error:
        return "unexpected end of data" in str(error)
    return False


def _check_header(path: Path, header: list[str], delimiter: str) -> None:
    if not any(header):
        raise InputError(f"{path}: line 1: the header is empty")
    check_column_names(f"{path}: line 1", header)
    if len(header) == 1 and delimiter not in header[0]:
        for other in (",", "\t", ";", "|"):
            if other != delimiter and other in header[0]:
                raise InputError(
                    f"{path}: line 1: one column only; the file seems delimited by {other!r}, not {delimiter!r}"
                )


def _check_given_names(path: Path, names: Sequence[str]) -> None:
    """``column_names`` are checked like a header: a list of strings, not all empty, unique and not reserved."""
    if isinstance(names, str) or not isinstance(names, Sequence) or not all(isinstance(name, str) for name in names):
        raise InputError(f"{path}: column_names must be a list of strings, not {shown(names)}")
    if not any(names):
        raise InputError(f"{path}: column_names is empty")
    check_column_names(f"{path}: column_names", list(names))


def read_split_files(directory: str | Path, files: dict[str, str], **options) -> pd.DataFrame:
    """Read one delimited file per split (``{"train": "train.tsv", ...}``) into one frame with a ``split`` column.

    ``attrs["compression"]`` maps each split to its file's compression.
    """
    directory = Path(directory)
    frames, compressions = [], {}
    for split, name in files.items():
        frame = read_delimited(directory / name, **options)
        frames.append(frame.assign(split=split))
        compressions[split] = frame.attrs["compression"]
    combined = pd.concat(frames, ignore_index=True)
    combined.attrs["source"] = str(directory)
    combined.attrs["encodings"] = dict(sum((Counter(frame.attrs["encodings"]) for frame in frames), Counter()))
    combined.attrs["compression"] = compressions
    return combined
