import pandas as pd
import pytest

from flaxline.data.parquet import read_parquet_table
from flaxline.errors import InputError


def test_columns_keep_their_types_and_the_pandas_extras_are_dropped(tmp_path):
    path = tmp_path / "raw.parquet"
    frame = pd.DataFrame(
        {"text": ["a", None], "label": pd.Categorical(["pos", "neg"]), "id": pd.array([7, None], dtype="Int64")},
        index=pd.Index(["r1", "r2"], name="key"),
    )
    frame.attrs["source"] = "somewhere else"
    frame.to_parquet(path)
    read = read_parquet_table(path)
    assert read.columns.tolist() == ["text", "label", "id", "key"]  # a stored index is a column like any other
    assert read["label"].tolist() == ["pos", "neg"] and read["id"].dtype == "Int64"
    assert read.index.tolist() == [0, 1] and read.attrs == {"source": str(path)}


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    path = tmp_path / "raw.parquet"
    path.write_bytes(b"label,text\npos,a\n")
    with pytest.raises(InputError, match=r"raw\.parquet: not a readable parquet file \(Parquet magic bytes not found"):
        read_parquet_table(path)
