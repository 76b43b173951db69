"""scikit-learn's handwritten digits as raw image rows: a small image data set that needs no download."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from flaxline.images.idx import raw_image_frame

DIGITS_SOURCE = "sklearn.datasets.load_digits"


def read_sklearn_digits() -> pd.DataFrame:
    """The 1,797 8×8 grayscale digits of ``load_digits()``, pixels 0..16 as they are (not rescaled to 0..255)."""
    digits = load_digits()
    images = digits.images.astype(np.uint8)[..., np.newaxis]
    return raw_image_frame(
        list(images),
        [str(label) for label in digits.target.tolist()],
        [f"{DIGITS_SOURCE}[{index}]" for index in range(len(images))],
        [""] * len(images),
        DIGITS_SOURCE,
    )
