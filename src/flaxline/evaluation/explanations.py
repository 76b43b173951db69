"""Attributions shown: an HTML page of coloured tokens, and heat maps over images."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# Red: the token pushes towards the predicted class; blue: away from it.
_TOWARDS, _AWAY = (214, 39, 40), (31, 119, 180)


def _heading(row) -> str:
    verdict = "right" if row.label == row.predicted else "wrong"
    return (
        f"{row.label} → {row.predicted} ({verdict}, p = {row.confidence:.3f}); "
        f"logit change {row.logit_change:+.3f}, completeness gap {row.completeness_gap:+.1e}"
    )


def token_attribution_page(explanations: pd.DataFrame) -> str:
    """A self-contained HTML page: per explained row (``tokens``, ``attributions`` and the rest of an
    explanations frame) its tokens shaded by attribution, each row scaled to its largest one."""
    items = []
    for row in explanations.itertuples():
        attributions = np.asarray(row.attributions, np.float64)
        largest = max(float(np.abs(attributions).max(initial=0.0)), 1e-12)
        spans = []
        for token, value in zip(row.tokens, attributions, strict=True):
            red, green, blue = _TOWARDS if value > 0 else _AWAY
            spans.append(
                f'<span title="{value:+.4f}" style="background: rgba({red}, {green}, {blue}, '
                f'{abs(value) / largest:.3f})">{html.escape(str(token))}</span>'
            )
        items.append(f"<li><p>{html.escape(_heading(row))}</p><p>{' '.join(spans)}</p></li>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Explained test predictions</title>'
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}span{padding:0 .15em;border-radius:.2em}"
        "li p:first-child{color:#555;margin-bottom:.2em}</style></head><body>\n"
        "<h1>Explained test predictions</h1>\n<p>Integrated gradients of the predicted class's logit: "
        '<span style="background: rgba(214, 39, 40, .6)">towards</span> or '
        '<span style="background: rgba(31, 119, 180, .6)">away from</span> the predicted class; hover a token '
        "for its value. The most confident errors come first.</p>\n<ol>\n"
        + "\n".join(items)
        + "\n</ol></body></html>\n"
    )


def attribution_maps_figure(explanations: pd.DataFrame, images: np.ndarray, columns: int = 4) -> Figure:
    """Per explained image (``images`` [N, H, W, C] in the frame's order), the image and its attributions' heat
    map (red towards the predicted class, blue away), side by side."""
    rows = max(1, -(-len(explanations) // columns))
    figure = Figure(figsize=(3.2 * columns, 1.8 * rows), layout="constrained")
    grid = figure.subplots(rows, 2 * columns, squeeze=False).ravel()
    for axes in grid:
        axes.set_axis_off()
    height, width = images.shape[1:3]
    for position, (row, image) in enumerate(zip(explanations.itertuples(), images, strict=True)):
        picture, heat = grid[2 * position], grid[2 * position + 1]
        grey = image.shape[-1] == 1
        picture.imshow(image[..., 0] if grey else image, cmap="gray_r" if grey else None)
        picture.set_title(f"{row.label} → {row.predicted}\n{row.confidence:.2f}", fontsize=8)
        attributions = np.asarray(row.attributions).reshape(height, width)
        largest = max(float(np.abs(attributions).max(initial=0.0)), 1e-12)
        heat.imshow(attributions, cmap="RdBu_r", vmin=-largest, vmax=largest)
        heat.set_title(f"Δlogit {row.logit_change:+.2f}", fontsize=8)
    figure.suptitle("Integrated gradients of the predicted class (most confident errors first)")
    return figure
