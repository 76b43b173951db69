import bz2
import gzip
import io
import lzma
import re
import zipfile

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kedro.io.core import DatasetError

from flaxline.data.delimited import iter_delimited, read_delimited
from flaxline.datasets.delimited_text import DelimitedTextDataset
from flaxline.errors import InputError


def write(tmp_path, data: bytes, name="raw.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zipped_as_on_a_mac(data: bytes) -> bytes:
    """One file in a folder, with the metadata macOS's Finder adds: only the file counts."""
    return zipped({"export/": b"", "export/raw.csv": data, "__MACOSX/export/._raw.csv": b"\x00\x05\x16\x07"})


COMPRESSORS = {"gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress, "zip": zipped_as_on_a_mac}
# Mixed encodings, CRLF and a record over two lines, so that equal frames mean equal decoding and line numbers.
PLAIN = b'label,text\r\npos,caf\xc3\xa9\r\nneg,"two\r\nlines"\r\n' + "pos,Google’s car\r\n".encode("mac_roman")


def test_each_line_is_decoded_in_its_own_encoding(tmp_path):
    data = "label,text\npos,café ok\n".encode() + "neg,Google’s car\n".encode("mac_roman")
    frame = read_delimited(write(tmp_path, data))
    assert list(frame["text"]) == ["café ok", "Google’s car"]
    assert list(frame["source_encoding"]) == ["utf-8", "mac_roman"]
    assert frame.attrs["encodings"] == {"utf-8": 1, "mac_roman": 1}


def test_quoted_fields_span_lines_and_keep_the_starting_line(tmp_path):
    frame = read_delimited(write(tmp_path, b'label,text\r\npos,"two\r\nlines"\r\nneg,"a, b"\r\n'))
    assert list(frame["text"]) == ["two\nlines", "a, b"]
    assert list(frame["source_line"]) == [2, 4]


def test_a_record_with_the_wrong_field_count_is_kept_with_its_error(tmp_path):
    frame = read_delimited(write(tmp_path, b"label,text\npos,fine\nneg,too,many\n"))
    assert list(frame["parse_error"]) == ["", "expected 2 fields, found 3"]
    assert frame.loc[1, "label"] == "neg"


def test_a_utf8_byte_order_mark_is_not_part_of_the_header(tmp_path):
    frame = read_delimited(write(tmp_path, b"\xef\xbb\xbflabel,text\npos,x\n"))
    assert list(frame.columns[:2]) == ["label", "text"]


def test_tab_separated_without_quoting(tmp_path):
    frame = read_delimited(write(tmp_path, b'sentence\tlabel\nit "works" well\t1\n'), delimiter="\t", quoting=False)
    assert frame.loc[0, "sentence"] == 'it "works" well'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"  \n\n", "file is empty"),
        (b"label,label\npos,neg\n", "line 1: duplicate column names ['label']"),
        (b"label;text\npos;x\n", "seems delimited by ';'"),
        (b"label,text\npos,a\x00b\n", "line 2"),
        (b"label,source_line\npos,3\n", "reserved"),
        # The checks apply to the decompressed text, and its lines are counted.
        pytest.param(gzip.compress(b"label,text\npos,a\x00b\n"), "line 2: NUL bytes", id="gzip-NUL"),
        pytest.param(bz2.compress(b"\n \n"), "file is empty", id="bz2-blank"),
        pytest.param(
            zipped({"train.csv": b"label\n", "test.csv": b"label\n"}),
            "a zip archive must hold exactly one file; this one holds 'train.csv', 'test.csv'",
            id="zip-two-files",
        ),
        pytest.param(
            zipped({f"{n}.csv": b"" for n in range(7)}),
            "this one holds '0.csv', '1.csv', '2.csv', '3.csv', '4.csv' and 2 more",
            id="zip-seven-files",
        ),
        pytest.param(zipped({"empty/": b""}), "must hold exactly one file; this one holds none", id="zip-a-folder"),
        pytest.param(zipped({}), "must hold exactly one file; this one holds none", id="zip-no-entries"),
    ],
)
def test_bad_files_give_one_line_naming_the_file(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(InputError) as error:
        read_delimited(path)
    assert str(path) in str(error.value) and message in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_delimited(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="is not a file"):
        read_delimited(tmp_path)


def test_a_line_no_encoding_accepts_is_named(tmp_path):
    path = write(tmp_path, b"label,text\npos,\xff\xfe\n")
    with pytest.raises(InputError, match=r"line 2 is valid in none of utf-8, ascii$"):
        read_delimited(path, fallback_encodings=("ascii",))
    with pytest.raises(InputError, match=r"line 2 is not valid utf-8 \(and no fallback encodings are configured\)$"):
        read_delimited(path, fallback_encodings=())


def test_a_quote_left_open_to_the_end_of_the_file_is_a_parse_error_of_its_record(tmp_path):
    frame = read_delimited(write(tmp_path, b'label,text\npos,fine\nneg,"never closed\npos,swallowed\n'))
    assert list(frame["source_line"]) == [2, 3]
    assert frame.loc[1, "text"] == "never closed\npos,swallowed\n"  # the later lines stay in the rejected record
    assert frame.loc[1, "parse_error"] == (
        "a quoted field opened here is never closed: the record runs to the end of the file (line 4)"
    )


def test_a_malformed_record_over_several_lines_names_them(tmp_path):
    frame = read_delimited(write(tmp_path, b'label,text\nneg,"a\nb",extra\npos,fine\n'))
    assert list(frame["parse_error"]) == ["expected 2 fields, found 3 (the record spans lines 2-3)", ""]


def test_a_bare_carriage_return_is_named_with_its_line(tmp_path):
    with pytest.raises(InputError, match=r"line 1: a carriage return \(\\r\) inside an unquoted field"):
        read_delimited(write(tmp_path, b"label,text\rpos,a\r"))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(alphabet='ab,;"\t\r\n\x00é€', max_size=120).map(str.encode)))
def test_any_bytes_give_a_frame_or_one_input_error_line(tmp_path_factory, data):
    path = write(tmp_path_factory.mktemp("any"), b"label,text\n" + data)
    try:
        frame = read_delimited(path)
    except InputError as error:
        assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
        return
    lines = data.count(b"\n") + 2
    assert frame["source_line"].is_monotonic_increasing and frame["source_line"].between(2, lines).all()
    expected = ("expected 2 fields", "a quoted field")
    assert all(error == "" or error.startswith(expected) for error in frame["parse_error"])


@pytest.mark.parametrize("kind", COMPRESSORS)
def test_a_compressed_file_reads_as_the_plain_file(tmp_path, kind):
    plain = read_delimited(write(tmp_path, PLAIN))
    path = write(tmp_path, COMPRESSORS[kind](PLAIN), f"raw.csv.{kind}")
    frame = read_delimited(path)
    pd.testing.assert_frame_equal(frame, plain)
    assert list(plain["source_line"]) == [2, 3, 5]
    assert plain.attrs["compression"] is None
    assert frame.attrs == {**plain.attrs, "source": str(path), "compression": kind}


def test_compression_is_told_by_the_content_not_the_name(tmp_path):
    frame = read_delimited(write(tmp_path, gzip.compress(b"label,text\npos,fine\n"), "raw.csv"))
    assert list(frame["text"]) == ["fine"]
    assert frame.attrs["compression"] == "gzip"


def test_a_plain_header_that_starts_like_bz2_stays_plain(tmp_path):
    frame = read_delimited(write(tmp_path, b"BZh,text\npos,fine\n"))
    assert list(frame.columns[:2]) == ["BZh", "text"]
    assert frame.attrs["compression"] is None


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def flip_a_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


# Hardly compressible, so that the middle of each archive lies in the compressed text, not in its headers.
NUMBERS = b"label,text\n" + b"".join(b"pos,%d\n" % (n * 2654435761 % 2**32) for n in range(1000))


@pytest.mark.parametrize("damage", [truncate, flip_a_byte])
@pytest.mark.parametrize("kind", COMPRESSORS)
def test_a_damaged_archive_is_one_line_naming_the_file_and_the_kind(tmp_path, kind, damage):
    path = write(tmp_path, damage(COMPRESSORS[kind](NUMBERS)), "raw.csv.gz")
    with pytest.raises(InputError) as error:
        read_delimited(path)
    message = str(error.value)
    assert re.fullmatch(rf"{re.escape(str(path))}: not a readable {kind} file \(.+\)", message), message


def test_a_file_without_a_header_reads_with_column_names(tmp_path):
    path = write(tmp_path, b'label,label\n\nneg,"two\nlines"\npos,too,many\n')
    frame = read_delimited(path, column_names=["label", "text"])
    assert list(frame.columns) == ["label", "text", "source_line", "source_encoding", "parse_error"]
    assert list(frame["text"]) == ["label", "two\nlines", "too"]
    assert list(frame["source_line"]) == [1, 3, 5]
    assert list(frame["parse_error"]) == ["", "", "expected 2 fields, found 3"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["label", "label"], "column_names: duplicate column names ['label']"),
        (["label", "source_line"], "column_names: column names ['source_line'] are reserved"),
        ("label,text", "column_names must be a list of strings, not 'label,text'"),
        (["label", 1], "column_names must be a list of strings, not ['label', 1]"),
        ([], "column_names is empty"),
    ],
)
def test_bad_column_names_give_one_line_naming_the_file(tmp_path, names, message):
    path = write(tmp_path, b"pos,fine\n")
    with pytest.raises(InputError) as error:
        read_delimited(path, column_names=names)
    assert str(error.value) == f"{path}: {message}"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_a_gzip_file_reads_as_its_content_would(tmp_path_factory, data):
    plain, packed = (tmp_path_factory.mktemp(kind) / "raw.csv" for kind in ("plain", "gzip"))
    plain.write_bytes(b"label,text\n" + data)
    packed.write_bytes(gzip.compress(b"label,text\n" + data))
    outcomes = []
    for path in (plain, packed):
        try:
            outcomes.append(read_delimited(path).to_dict("list"))
        except InputError as error:
            outcomes.append(str(error).removeprefix(str(path)))
    assert outcomes[0] == outcomes[1]


def test_the_dataset_reads_the_splits_it_lists_only(tmp_path):
    write(tmp_path, b"label,text\npos,good\nneg,bad\n", "train.csv")
    write(tmp_path, b"label,text\npos,fine\n", "test.csv")
    dataset = DelimitedTextDataset(filepath=str(tmp_path), splits={"train": "train.csv", "test": "test.csv"})
    assert dataset.exists()
    frame = dataset.load()
    assert list(frame["split"]) == ["train", "train", "test"]
    assert list(frame["text"]) == ["good", "bad", "fine"]


def test_the_dataset_reads_compressed_files_without_a_header(tmp_path):
    write(tmp_path, gzip.compress(b"pos\tgood\nneg\tbad\n"), "train.tsv")
    write(tmp_path, b"pos\tfine\n", "test.tsv")
    dataset = DelimitedTextDataset(
        filepath=str(tmp_path),
        splits={"train": "train.tsv", "test": "test.tsv"},
        delimiter="\t",
        column_names=["label", "text"],
    )
    frame = dataset.load()
    assert list(frame["label"]) == ["pos", "neg", "pos"]
    assert list(frame["source_line"]) == [1, 2, 1]
    assert frame.attrs["compression"] == {"train": "gzip", "test": None}
    assert dataset._describe()["column_names"] == ["label", "text"]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 100])
def test_chunks_read_as_the_whole_file_does(tmp_path, chunk_rows):
    data = PLAIN + b'\npos,"a\nb"\n\nneg,fine\npos,"never closed\nneg,x\n'
    path = write(tmp_path, gzip.compress(data), "raw.csv.gz")
    chunks = list(iter_delimited(path, chunk_rows=chunk_rows))
    assert all(len(chunk) == chunk_rows for chunk in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk_rows
    joined = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(joined, read_delimited(path))
    assert joined["parse_error"].iloc[-1].startswith("a quoted field opened here is never closed")
    assert (
        sum(chunk.attrs["encodings"]["mac_roman"] for chunk in chunks if "mac_roman" in chunk.attrs["encodings"]) == 1
    )


def test_the_dataset_streams_chunks_and_reports_bad_input_while_reading(tmp_path):
    path = write(tmp_path, b"label,text\n" + b"pos,fine\n" * 5 + b"neg,\xff\n")
    chunks = DelimitedTextDataset(filepath=str(path), chunk_rows=2, fallback_encodings=[]).load()
    assert len(next(chunks)) == 2  # read as consumed: the bad line 7 is not reached yet
    with pytest.raises(DatasetError, match=r"raw.csv: line 7 is not valid utf-8"):
        list(chunks)
    with pytest.raises(DatasetError, match="chunk_rows must be a positive number of rows"):
        DelimitedTextDataset(filepath=str(tmp_path), splits={"train": "raw.csv"}, chunk_rows=2)
