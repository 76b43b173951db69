"""Figures, drawn with matplotlib's object API (no pyplot state, no display needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.special import softmax

from flaxline.evaluation.calibration import reliability_bins


def confusion_matrix_figure(matrices: dict[str, list[list[int]]], class_names: list[str]) -> Figure:
    """One panel per model: counts, with each row's share as colour (rows are true classes)."""
    figure = Figure(figsize=(4.5 * len(matrices), 4.2), layout="constrained")
    for axes, (model, matrix) in zip(
        figure.subplots(1, len(matrices), squeeze=False)[0], matrices.items(), strict=True
    ):
        counts = np.asarray(matrix)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if shares[row, column] > 0.5 else "black"
            axes.text(column, row, str(count), ha="center", va="center", color=colour)
        axes.set(
            xticks=range(len(class_names)),
            yticks=range(len(class_names)),
            xticklabels=class_names,
            yticklabels=class_names,
            xlabel="predicted",
            ylabel="true",
            title=model,
        )
    return figure


def intervals_figure(metrics_by_model: dict[str, dict]) -> Figure:
    """Each metric of the reports' ``confidence_intervals`` (accuracy, macro-F1, each class's F1): every model's
    value with its interval."""
    names = list(next(iter(metrics_by_model.values()))["confidence_intervals"])
    figure = Figure(figsize=(1.2 + 1.1 * len(names) * len(metrics_by_model), 3.8), layout="constrained")
    axes = figure.subplots()
    width = 0.8 / len(metrics_by_model)
    for offset, (model, metrics) in enumerate(metrics_by_model.items()):
        classes = {f"f1_{name}": metrics["report"][name]["f1-score"] for name in metrics["class_names"]}
        values = [{"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], **classes}[n] for n in names]
        low, high = np.array([metrics["confidence_intervals"][name] for name in names]).T
        positions = np.arange(len(names)) + (offset - (len(metrics_by_model) - 1) / 2) * width
        axes.errorbar(
            positions,
            values,
            yerr=[np.subtract(values, low), np.subtract(high, values)],
            fmt="o",
            capsize=4,
            label=model,
        )
    axes.set(xticks=range(len(names)), xticklabels=names, ylabel="test value", title="with bootstrap intervals")
    axes.legend()
    return figure


def reliability_figure(logits: np.ndarray, labels: np.ndarray, temperature: float, bins: int) -> Figure:
    """Accuracy against confidence in equal-width bins, before and after temperature scaling, with the share of
    rows per bin beneath: a calibrated model lies on the diagonal."""
    figure = Figure(figsize=(5.0, 5.6), layout="constrained")
    curve, counts = figure.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    curve.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
    for name, scale in (("as trained", 1.0), (f"temperature {temperature:.2f}", temperature)):
        table = reliability_bins(softmax(logits / scale, axis=1), labels, bins, "equal_width")
        confidence = [row["confidence"] for row in table]
        curve.plot(confidence, [row["accuracy"] for row in table], marker="o", label=name)
        counts.plot(confidence, [row["rows"] / len(labels) for row in table], marker=".", label=name)
    curve.set(ylabel="accuracy", title="reliability (test split)", xlim=(0, 1), ylim=(0, 1))
    curve.legend()
    counts.set(xlabel="confidence (largest probability)", ylabel="share of rows")
    return figure


def learning_curves_figure(history: pd.DataFrame) -> Figure:
    """Each metric of the history per epoch (loss, accuracy, ...), training and validation."""
    metrics = [name.removeprefix("validation_") for name in history if name.startswith("validation_")]
    figure = Figure(figsize=(4.5 * len(metrics), 3.6), layout="constrained")
    for axes, metric in zip(figure.subplots(1, len(metrics), squeeze=False)[0], metrics, strict=True):
        for split in ("train", "validation"):
            axes.plot(history["epoch"], history[f"{split}_{metric}"], marker="o", label=split)
        axes.set(xlabel="epoch", ylabel=metric, title=metric)
        axes.legend()
    return figure


def misclassified_images_figure(
    images: np.ndarray, predictions: pd.DataFrame, class_names: list[str], count: int = 24
) -> Figure:
    """The ``count`` most confident mistakes: each image with its true class, the predicted one and its probability."""
    probability = predictions[[f"probability_{name}" for name in class_names]].to_numpy().max(axis=1)
    wrong = np.flatnonzero(predictions["label"].to_numpy() != predictions["predicted"].to_numpy())
    shown = wrong[np.argsort(-probability[wrong], kind="stable")][:count]
    columns = 8
    rows = max(1, -(-len(shown) // columns))
    figure = Figure(figsize=(1.6 * columns, 1.9 * rows), layout="constrained")
    for axes in figure.subplots(rows, columns, squeeze=False).ravel():
        axes.set_axis_off()
    # The grid is filled row by row, so its last row may hold fewer images than axes: the extra axes stay blank.
    for axes, index in zip(figure.axes, shown, strict=False):
        image = images[index]
        axes.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray_r" if image.shape[-1] == 1 else None)
        axes.set_title(
            f"{predictions['label'].iloc[index]} → {predictions['predicted'].iloc[index]}\n{probability[index]:.2f}",
            fontsize=8,
        )
    figure.suptitle(f"{len(wrong)} of {len(predictions)} test images misclassified; the most confident mistakes")
    return figure


def error_by_activity_figure(errors: dict[str, np.ndarray], activity: np.ndarray, bins: int = 6) -> Figure:
    """Each model's RMSE on the test ratings, by how many training ratings the rating's user has (quantile bins)."""
    edges = np.unique(np.quantile(activity, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, activity, side="right") - 1, 0, len(edges) - 2)
    figure = Figure(figsize=(7, 3.8), layout="constrained")
    axes = figure.subplots()
    labels = [f"{edges[i]:.0f}–{edges[i + 1]:.0f}" for i in range(len(edges) - 1)]
    for model, error in errors.items():
        rmse = [
            float(np.sqrt(np.mean(error[which == i] ** 2))) if (which == i).any() else np.nan
            for i in range(len(labels))
        ]
        axes.plot(labels, rmse, marker="o", label=model)
    axes.set(xlabel="the user's training ratings", ylabel="test RMSE", title="error by user activity")
    axes.legend()
    return figure


def compression_figure(table: pd.DataFrame) -> Figure:
    """A model and its compressed versions side by side: size on disk, accuracy, throughput."""
    figure = Figure(figsize=(12, 3.6), layout="constrained")
    panels = (
        ("bytes", "size on disk (MB)", 1e-6),
        ("accuracy", "test accuracy", 1.0),
        ("examples_per_s_batch64", "examples/s (batches of 64)", 1.0),
    )
    for axes, (column, label, scale) in zip(figure.subplots(1, 3), panels, strict=True):
        values = table[column].to_numpy() * scale
        axes.barh(table["model"], values, color=["grey", *["tab:blue"] * (len(table) - 1)])
        for position, value in enumerate(values):
            axes.text(value, position, f" {value:.3g}", va="center")
        axes.set(xlabel=label)
        axes.invert_yaxis()
    return figure
