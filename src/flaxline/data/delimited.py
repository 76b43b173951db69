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
import itertools
import lzma
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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


def _decoded(lines: Iterator[bytes], fallback_encodings: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Each of ``lines`` (with or without its line end) decoded on its own, with the encoding that accepted it."""
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix(b"\n").removesuffix(b"\r")
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if b"\x00" in line:
            raise InputError(f"line {number}: NUL bytes; this is a binary or UTF-16 file, not delimited text")
        text, encoding = _decode_line(line, fallback_encodings)
        if text is None:
            if not fallback_encodings:
                raise InputError(f"line {number} is not valid utf-8 (and no fallback encodings are configured)")
            raise InputError(f"line {number} is valid in none of utf-8, {', '.join(fallback_encodings)}")
        yield text, encoding


def _decode_line(line: bytes, fallback_encodings: Sequence[str]) -> tuple[str | None, str]:
    for encoding in ("utf-8", *fallback_encodings):
        try:
            return line.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None, ""


def read_delimited(path: str | Path, **options) -> pd.DataFrame:
    """Read a delimited file, possibly compressed, into a frame of strings (``iter_delimited``'s chunks as one).

    Columns are the header's, or ``column_names`` for a file without a header row, plus
    ``source_line`` (1-based line of the record's start), ``source_encoding`` and
    ``parse_error`` (empty when the record parsed cleanly). Blank lines are not records.
    ``frame.attrs`` holds the source path, the encoding counts and the compression (or None).
    """
    chunks = list(iter_delimited(path, **options))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    frame.attrs = chunks[0].attrs | {
        "encodings": dict(sum((Counter(chunk.attrs["encodings"]) for chunk in chunks), Counter()))
    }
    return frame


def iter_delimited(
    path: str | Path,
    *,
    chunk_rows: int | None = None,
    delimiter: str = ",",
    quoting: bool = True,
    fallback_encodings: Sequence[str] = ("mac_roman",),
    column_names: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The records of a delimited file, possibly compressed, as frames of at most ``chunk_rows`` records (one frame
    when None; at least one, empty when the file has a header only), read and decompressed as they are consumed, so
    that a file larger than memory can be read. The columns and ``attrs`` are ``read_delimited``'s."""
    path = Path(path)
    check_file(path)
    if column_names is not None:
        _check_given_names(path, column_names)
    binary, compression = _binary_lines(path)
    lines = _Lines(_text_lines(path, binary, compression, fallback_encodings))
    reader = csv.reader(
        lines, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE, strict=False
    )
    try:
        if column_names is None:
            header = [name.strip() for name in next(reader)]
            _check_header(path, header, delimiter)
        else:
            header = list(column_names)
        records: list[_Record] = []
        for record in _records(reader, lines, len(header)):
            records.append(record)
            if chunk_rows is not None and len(records) > chunk_rows:  # one held back: it may be the last
                yield _frame(records[:chunk_rows], header, path, compression)
                records = records[chunk_rows:]
    except csv.Error as error:
        message = str(error)
        if "new-line character" in message:
            message = "a carriage return (\\r) inside an unquoted field; lines must end in \\n or \\r\\n"
        raise InputError(f"{path}: line {reader.line_num}: {message}") from None
    if quoting and records and _quote_left_open(lines.since_record_start, delimiter):
        left_open = (
            f"a quoted field opened here is never closed: the record runs to the end of the file (line {lines.count})"
        )
        records[-1].error = left_open
    yield _frame(records, header, path, compression)


@dataclass
class _Record:
    fields: list[str]
    line: int
    encoding: str
    error: str


class _Lines:
    """Decoded lines for ``csv.reader`` (which asks for one line at a time), keeping the encodings and texts of the
    lines since the current record's start."""

    def __init__(self, decoded: Iterator[tuple[str, str]]):
        self._decoded, self.count = decoded, 0
        self.since_record_start: list[str] = []
        self._encodings: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        text, encoding = next(self._decoded)
        self.count += 1
        self.since_record_start.append(text)
        self._encodings.append(encoding)
        return text + "\n"

    def record(self, first: int, last: int) -> str:
        """The encoding of the record on lines ``first`` to ``last`` (any other than UTF-8 among its lines'); the
        lines before ``first`` are forgotten."""
        start = first - (self.count - len(self._encodings)) - 1
        spanned = set(self._encodings[start : start + last - first + 1])
        del self._encodings[:start], self.since_record_start[:start]
        return "utf-8" if spanned == {"utf-8"} else next(iter(spanned - {"utf-8"}))


def _records(reader, lines: _Lines, width: int) -> Iterator[_Record]:
    """The reader's records, each padded or cut to ``width`` fields with its parse error, line and encoding."""
    consumed = reader.line_num
    for fields in reader:
        first, consumed = consumed + 1, reader.line_num
        if not fields:
            continue
        error = ""
        if len(fields) != width:
            spans = f" (the record spans lines {first}-{consumed})" if consumed > first else ""
            error = f"expected {width} fields, found {len(fields)}{spans}"
            fields = (fields + [""] * width)[:width]
        yield _Record(fields, first, lines.record(first, consumed), error)


def _frame(records: list[_Record], header: list[str], path: Path, compression: str | None) -> pd.DataFrame:
    frame = pd.DataFrame([record.fields for record in records], columns=header, dtype="str")
    frame[SOURCE_LINE] = pd.array([record.line for record in records], dtype="int64")
    frame[SOURCE_ENCODING] = [record.encoding for record in records]
    frame[PARSE_ERROR] = [record.error for record in records]
    frame.attrs["source"] = str(path)
    frame.attrs["encodings"] = dict(Counter(frame[SOURCE_ENCODING]))
    frame.attrs["compression"] = compression
    return frame


def _text_lines(
    path: Path, binary: Iterator[bytes], compression: str | None, fallback_encodings: Sequence[str]
) -> Iterator[tuple[str, str]]:
    """The decoded lines of a file's (decompressed) bytes; one line naming ``path`` if it holds no text.

    A damaged archive can decompress to garbage before its checksum fails: a line that is no text in an archive is
    reported as the archive's damage if the rest of it is damaged."""
    try:
        blank: list[bytes] = []
        for line in binary:  # blank lines before the first text are held back: a file of them is empty
            blank.append(line)
            if line.strip():
                break
        else:
            raise InputError("file is empty")
        yield from _decoded(itertools.chain(blank, binary), fallback_encodings)
    except InputError as error:
        raise InputError(f"{path}: {(compression and _damage(binary)) or error}") from None


def _damage(binary: Iterator[bytes]) -> InputError | None:
    """The error reading the rest of an archive raises, if any."""
    try:
        for _ in binary:
            pass
    except InputError as error:
        return error
    return None


def _binary_lines(path: Path) -> tuple[Iterator[bytes], str | None]:
    """The file's lines of bytes, decompressed as they are read, and the archive kind its magic bytes name (None: no
    archive)."""
    with path.open("rb") as file:
        start = file.read(8)
    kind = next((kind for kind, magic in ARCHIVE_MAGIC.items() if start.startswith(magic)), None)
    return _lines_of(path, kind), kind


def _lines_of(path: Path, kind: str | None) -> Iterator[bytes]:
    with path.open("rb") as file:
        if kind is None:
            yield from file
            return
        try:
            with _OPENERS[kind](file) as stream:
                yield from stream
        except InputError:  # the zip's own message; caught first, as an InputError is a ValueError
            raise
        except _ARCHIVE_ERRORS as error:
            raise InputError(f"not a readable {kind} file ({_first_line(error)})") from None


def _first_line(error: Exception) -> str:
    """The first line of ``error``'s message, or its type's name when the message is empty: reports stay one line."""
    return str(error).partition("\n")[0] or type(error).__name__


@contextmanager
def _unzipped(file: IO[bytes]) -> Iterator[IO[bytes]]:
    """The one file a zip archive holds, not counting folders and macOS's ``__MACOSX/`` metadata."""
    with zipfile.ZipFile(file) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
        if len(members) != 1:
            raise InputError(f"a zip archive must hold exactly one file; this one holds {_listing(members)}")
        with archive.open(members[0]) as member:
            yield member


def _listing(members: Sequence[zipfile.ZipInfo], limit: int = 5) -> str:
    """The names of ``members``, the first ``limit`` of them when there are more, so that the message stays short."""
    if not members:
        return "none"
    names = ", ".join(shown(member.filename) for member in members[:limit])
    return names + (f" and {len(members) - limit} more" if len(members) > limit else "")


_OPENERS: dict[str, Callable[[IO[bytes]], AbstractContextManager[Any]]] = {
    "gzip": lambda file: gzip.open(file),
    "bz2": lambda file: bz2.open(file),
    "xz": lambda file: lzma.open(file),
    "zip": _unzipped,
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
