"""Train / validation / test splits: stratified, or the ones the data came with (a validation split
carved from train when the data brings none)."""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from flaxline.errors import InputError

SPLITS = ("train", "validation", "test")


def _check_classes(frame: pd.DataFrame, label_column: str, where: str) -> None:
    counts = frame[label_column].value_counts()
    if len(counts) < 2:
        raise InputError(
            f"{where}column '{label_column}': only one class ({', '.join(map(str, counts.index))}) to classify"
        )
    rare = counts[counts < 3]
    if len(rare):
        raise InputError(
            f"{where}column '{label_column}': class {rare.index[0]!r} has {rare.iloc[0]} rows; "
            "a stratified split needs 3"
        )


def carve(
    frame: pd.DataFrame, label_column: str, fraction: float, seed: int, where: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` split into the rest and a stratified share ``fraction`` of its rows, both re-indexed."""
    _check_classes(frame, label_column, where)
    rest, part = train_test_split(frame, test_size=fraction, stratify=frame[label_column], random_state=seed)
    return rest.reset_index(drop=True), part.reset_index(drop=True)


def stratified_split(
    frame: pd.DataFrame, label_column: str, validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, pd.DataFrame]:
    """Split ``frame`` into train, validation and test, each with the class balance of the whole."""
    if not 0 < validation_fraction < 1 or not 0 < test_fraction < 1 or validation_fraction + test_fraction >= 1:
        raise InputError(
            f"split fractions validation={validation_fraction}, test={test_fraction} "
            "must be in (0, 1) with a sum below 1"
        )
    rest, test = carve(frame, label_column, test_fraction, seed)
    train, validation = carve(rest, label_column, validation_fraction / (1 - test_fraction), seed)
    return {"train": train, "validation": validation, "test": test}


def predefined_split(
    frame: pd.DataFrame, label_column: str, validation_fraction: float, seed: int, column: str = "split"
) -> dict[str, pd.DataFrame]:
    """The splits named in ``column`` (data that comes already split, such as a benchmark's files).

    Train and test must be there; without a validation split, a stratified ``validation_fraction``
    of the train rows becomes one.
    """
    if column not in frame:
        raise InputError(f"column '{column}' is missing: the 'predefined' split needs data that comes split")
    unknown = sorted(set(frame[column]) - set(SPLITS))
    if unknown:
        raise InputError(f"column '{column}': unknown split {unknown[0]!r}; splits are {', '.join(SPLITS)}")
    parts = {name: frame[frame[column] == name].drop(columns=column).reset_index(drop=True) for name in SPLITS}
    if parts["validation"].empty and not parts["train"].empty:
        parts["train"], parts["validation"] = carve(
            parts["train"], label_column, validation_fraction, seed, "split 'train': "
        )
    empty = [name for name, part in parts.items() if part.empty]
    if empty:
        raise InputError(f"column '{column}': split '{empty[0]}' has no rows")
    return parts


def stratified_folds(
    frame: pd.DataFrame, label_column: str, folds: int, validation_fraction: float, seed: int
) -> list[dict[str, pd.DataFrame]]:
    """``folds`` train / validation / test splits of ``frame``: each row is in one fold's test split (stratified
    k-fold), and each fold's validation split is a stratified ``validation_fraction`` of the rest."""
    counts = frame[label_column].value_counts()
    if counts.min() < folds:
        raise InputError(
            f"cross_validation.folds: {folds} stratified folds need {folds} rows of every class; "
            f"class {counts.idxmin()!r} has {counts.min()}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    parts = []
    for number, (rest, test) in enumerate(splitter.split(frame, frame[label_column])):
        where = f"cross-validation fold {number}: "
        train, validation = carve(frame.iloc[rest], label_column, validation_fraction, seed, where)
        parts.append({"train": train, "validation": validation, "test": frame.iloc[test].reset_index(drop=True)})
    return parts
