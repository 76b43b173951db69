import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    with pytest.raises(InputError, match=r"line 2 is valid in none of utf-8, ascii$"):
        read_delimited(path, fallback_encodings=("ascii",))
    with pytest.raises(InputError, match=r"line 2 is not valid utf-8 \(and no fallback encodings are configured\)$"):
        read_delimited(path, fallback_encodings=())


def test_a_quote_left_open_to_the_end_of_the_file_is_a_parse_error_of_its_record(tmp_path):
    frame = read_delimited(write(tmp_path, b'label,text\npos,fine\nneg,"never closed\npos,swallowed\n'))
    assert list(frame["source_line"]) == [2, 3]
    assert frame.loc[1, "text"] == "never closed\npos,swallowed\n"  # the later lines stay in the rejected record
    assert frame.loc[1, "parse_error"] == "a quoted field opened here is never closed: the record runs to the end of the file (line 4)"


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
    assert all(error == "" or error.startswith(("expected 2 fields", "a quoted field")) for error in frame["parse_error"])
