"""Nodes of cross-validation: the folds carved from train + validation, and their summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import Field

from flaxline.config import Settings
from flaxline.data.split import SPLITS, stratified_folds

METRICS = ("accuracy", "macro_f1")


class CrossValidationParams(Settings):
    """Stratified k-fold over the task's train and validation splits (its test split stays unseen)."""

    folds: int = Field(5, ge=2, description="k: each fold trains on the others and tests on itself")
    validation_fraction: float = Field(
        0.1, gt=0.0, lt=1.0, description="of each fold's training part, held out for early stopping"
    )
    seed: int = 0


def carve_folds(
    train_rows: pd.DataFrame, validation_rows: pd.DataFrame, parameters: CrossValidationParams
) -> tuple[pd.DataFrame, ...]:
    """Every fold's train, validation and test rows, fold after fold."""
    pool = pd.concat([train_rows, validation_rows], ignore_index=True)
    folds = stratified_folds(pool, "label", parameters.folds, parameters.validation_fraction, parameters.seed)
    return tuple(fold[split] for fold in folds for split in SPLITS)


def summarize_folds(*metrics: dict) -> tuple[pd.DataFrame, Figure]:
    """Per fold, the network's and the baseline's test metrics (``metrics``: each fold's model metrics, then each
    fold's baseline metrics), then each model's mean and standard deviation over the folds; and the figure."""
    folds = len(metrics) // 2
    rows = [
        {"fold": str(fold), "model": report["model"]["name"], **{name: report[name] for name in METRICS}}
        for fold, report in [*enumerate(metrics[:folds]), *enumerate(metrics[folds:])]
    ]
    table = pd.DataFrame(rows)
    summary = table.groupby("model", sort=False)[list(METRICS)].agg(["mean", "std"])
    for statistic in ("mean", "std"):
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "fold": statistic,
                        "model": summary.index,
                        **{m: summary[(m, statistic)].to_numpy() for m in METRICS},
                    }
                ),
            ],
            ignore_index=True,
        )
    return table, _folds_figure(table)


def _folds_figure(table: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(4.5 * len(METRICS), 3.8), layout="constrained")
    per_fold = table[~table["fold"].isin(["mean", "std"])]
    models = list(dict.fromkeys(per_fold["model"]))
    for axes, metric in zip(figure.subplots(1, len(METRICS), squeeze=False)[0], METRICS, strict=True):
        for position, model in enumerate(models):
            values = per_fold.loc[per_fold["model"] == model, metric].to_numpy()
            axes.scatter(np.full(len(values), position), values, alpha=0.6)
            axes.errorbar(position + 0.15, values.mean(), yerr=values.std(ddof=1), fmt="s", capsize=5, color="black")
        axes.set(xticks=range(len(models)), xticklabels=models, ylabel=metric, title=f"{metric} per fold (mean ± std)")
    return figure
