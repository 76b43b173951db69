"""Classification metrics in one report format for every model (network or baseline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix


def classification_metrics(labels: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> dict:
    """scikit-learn's classification report (per class, macro, weighted) plus accuracy and macro-F1."""
    report = classification_report(
        labels,
        predicted,
        labels=list(range(len(class_names))),
        target_names=class_names,
        output_dict=True,
        zero_division=0,
    )
    return {
        "accuracy": float(report.pop("accuracy")),
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "report": report,
        "confusion_matrix": confusion_matrix(labels, predicted, labels=list(range(len(class_names)))).tolist(),
        "class_names": list(class_names),
        "examples": int(len(labels)),
    }


def predictions_frame(
    rows: pd.DataFrame, labels: np.ndarray, probabilities: np.ndarray, class_names: list[str]
) -> pd.DataFrame:
    """One row per example: the split's columns that say which example it is (all but the pixels),
    the true and the predicted class, and each class's probability."""
    frame = rows.drop(columns=["image", "label"], errors="ignore").reset_index(drop=True)
    frame["label"] = np.asarray(class_names)[labels]
    frame["predicted"] = np.asarray(class_names)[probabilities.argmax(axis=1)]
    for index, name in enumerate(class_names):
        frame[f"probability_{name}"] = probabilities[:, index]
    return frame


def comparison_table(metrics_by_model: dict[str, dict], paired: dict[str, dict] | None = None) -> pd.DataFrame:
    """Side-by-side summary: accuracy, macro/weighted F1 and per-class F1 for each model, with each metric's
    interval (``<metric>_low``, ``<metric>_high``) where the report has one; for the models in ``paired``
    (``uncertainty.paired_comparison`` of the first model against that one), the first model's lead in
    accuracy and macro-F1 with its interval and p-values (``lead_<metric>...``, ``mcnemar_p_value``)."""
    rows = []
    for model, metrics in metrics_by_model.items():
        report = metrics["report"]
        row = {
            "model": model,
            "accuracy": metrics["accuracy"],
            "macro_precision": report["macro avg"]["precision"],
            "macro_recall": report["macro avg"]["recall"],
            "macro_f1": metrics["macro_f1"],
            "weighted_f1": report["weighted avg"]["f1-score"],
        }
        row.update({f"f1_{name}": report[name]["f1-score"] for name in metrics["class_names"]})
        for name, (low, high) in metrics.get("confidence_intervals", {}).items():
            row.update({f"{name}_low": low, f"{name}_high": high})
        if model in (paired or {}):
            row.update(lead_columns(paired[model]))  # type: ignore[index]
        rows.append(row)
    return pd.DataFrame(rows)


def lead_columns(comparison: dict) -> dict:
    """A ``uncertainty.paired_comparison`` as table columns: the first model's lead in accuracy and macro-F1
    (``lead_<metric>``) with its interval (``..._low``, ``..._high``) and p-value, and McNemar's p-value."""
    columns = {}
    for name in ("accuracy", "macro_f1"):
        difference = comparison["difference"][name]
        columns[f"lead_{name}"] = difference["estimate"]
        columns[f"lead_{name}_low"], columns[f"lead_{name}_high"] = difference["interval"]
        columns[f"lead_{name}_p_value"] = difference["p_value"]
    return columns | {"mcnemar_p_value": comparison["mcnemar"]["p_value"]}
