import pytest

from flaxline.data.delimited import read_delimited
from flaxline.errors import InputError


def write(tmp_path, data: bytes, name="raw.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


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
    with pytest.raises(InputError, match=r"line 2 is valid in none of utf-8, ascii"):
        read_delimited(path, fallback_encodings=("ascii",))
