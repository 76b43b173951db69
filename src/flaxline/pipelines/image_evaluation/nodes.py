"""Nodes of the evaluation stage that only image tasks have."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from flaxline.evaluation.figures import misclassified_images_figure
from flaxline.images.rows import images_array


def draw_misclassified_images(test_rows: pd.DataFrame, test_predictions: pd.DataFrame, classes: list[str]) -> Figure:
    """The most confident mistakes on the test split, drawn."""
    return misclassified_images_figure(images_array(test_rows), test_predictions, list(classes))
