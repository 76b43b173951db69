"""A Parquet table whose cells may hold arrays, previewable by Kedro-Viz."""

from __future__ import annotations

import numpy as np
from kedro_datasets._typing import TablePreview
from kedro_datasets.pandas import ParquetDataset


class ArrayCellsParquetDataset(ParquetDataset):
    """``pandas.ParquetDataset`` for tables with list cells (token attributions, say): Parquet keeps them as lists
    and pandas reads them back as arrays, which the preview turns into lists so that Kedro-Viz can show them."""

    # Kedro-Viz picks its preview widget by this return annotation.
    def preview(self, nrows: int = 5) -> TablePreview:
        preview = super().preview(nrows)
        preview["data"] = [
            [cell.tolist() if isinstance(cell, np.ndarray) else cell for cell in row] for row in preview["data"]
        ]
        return preview
