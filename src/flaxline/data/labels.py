"""Class labels as the models see them: indices into the task's ``classes``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flaxline.errors import InputError


def label_indices(rows: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Each row's class index (int32); one line naming a label outside ``classes``."""
    unknown = sorted(set(rows["label"]) - set(classes))
    if unknown:
        raise InputError(f"column 'label': {unknown[0]!r} is not one of the classes {list(classes)}")
    return rows["label"].map({name: index for index, name in enumerate(classes)}).to_numpy(np.int32)
