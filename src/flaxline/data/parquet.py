"""Reading a raw table from a parquet file, with the same one-line errors as the delimited reader."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from flaxline.data.delimited import check_column_names, check_file
from flaxline.errors import InputError


def _integers_stay_integers(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    # pandas' default turns an integer column with a missing value into floats (1 → 1.0), and
    # labels such as 0 / 1 would no longer read as the configured classes "0" / "1".
    return pd.Int64Dtype() if pa.types.is_integer(arrow_type) else None


def read_parquet_table(path: str | Path) -> pd.DataFrame:
    """Read a parquet file into a frame with the file's own column types; rows are numbered from 1.

    The pandas metadata a file may carry is ignored: a stored index becomes an ordinary column
    and stored ``attrs`` are dropped. ``frame.attrs["source"]`` is the path.
    """
    path = Path(path)
    check_file(path)
    try:
        with pq.ParquetFile(path) as file:
            check_column_names(str(path), file.schema_arrow.names)
            table = file.read()
        # Categories (dictionary-encoded columns, as pandas writes a categorical) read as the values they stand for.
        columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
        table = pa.Table.from_arrays(columns, names=table.column_names)
        frame = table.to_pandas(ignore_metadata=True, types_mapper=_integers_stay_integers)
    except pa.ArrowException as error:
        raise InputError(f"{path}: not a readable parquet file ({str(error).splitlines()[0]})") from None
    frame.attrs = {"source": str(path)}
    return frame
