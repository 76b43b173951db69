import pandas as pd
import pytest

from flaxline.data.split import predefined_split, stratified_folds, stratified_split
from flaxline.errors import InputError


def frame(counts):
    labels = [label for label, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"row": range(len(labels)), "label": labels})


def test_splits_are_disjoint_complete_and_stratified():
    data = frame({"a": 500, "b": 300, "c": 200})
    parts = stratified_split(data, "label", 0.1, 0.2, seed=3)
    assert [len(parts[name]) for name in ("train", "validation", "test")] == [700, 100, 200]
    rows = pd.concat(parts.values())["row"]
    assert sorted(rows) == list(range(1000))
    for part in parts.values():
        shares = part["label"].value_counts(normalize=True)
        assert shares["a"] == pytest.approx(0.5, abs=0.01) and shares["c"] == pytest.approx(0.2, abs=0.01)


def test_the_seed_decides_the_split():
    data = frame({"a": 50, "b": 50})
    first, again, other = (stratified_split(data, "label", 0.2, 0.2, seed) for seed in (1, 1, 2))
    assert first["test"]["row"].tolist() == again["test"]["row"].tolist()
    assert first["test"]["row"].tolist() != other["test"]["row"].tolist()


def test_bad_requests_are_refused():
    with pytest.raises(InputError, match="only one class"):
        stratified_split(frame({"a": 10}), "label", 0.1, 0.1, 0)
    with pytest.raises(InputError, match="class 'b' has 2 rows"):
        stratified_split(frame({"a": 10, "b": 2}), "label", 0.1, 0.1, 0)
    with pytest.raises(InputError, match="fractions"):
        stratified_split(frame({"a": 10, "b": 10}), "label", 0.5, 0.5, 0)


def test_data_that_comes_split_keeps_its_splits_and_gets_a_validation_split_carved_from_train():
    data = frame({"a": 60, "b": 40}).assign(split=["train"] * 80 + ["test"] * 20)
    parts = predefined_split(data, "label", validation_fraction=0.25, seed=0)
    assert [len(parts[name]) for name in ("train", "validation", "test")] == [60, 20, 20]
    assert parts["test"]["row"].tolist() == list(range(80, 100))  # the shipped test split is untouched
    assert sorted(pd.concat([parts["train"], parts["validation"]])["row"]) == list(range(80))
    assert parts["validation"]["label"].value_counts().to_dict() == {
        "a": 15,
        "b": 5,
    }  # stratified: 60 % / 40 % of train's 75 / 25
    shipped = data.assign(split=["train"] * 70 + ["validation"] * 10 + ["test"] * 20)
    assert len(predefined_split(shipped, "label", 0.25, 0)["validation"]) == 10
    with pytest.raises(InputError, match="^column 'split': split 'test' has no rows$"):
        predefined_split(data.assign(split="train"), "label", 0.25, 0)


def test_stratified_folds_test_every_row_once_and_refuse_too_many_folds():
    frame = pd.DataFrame({"row": range(60), "label": ["a", "b", "c"] * 20})
    folds = stratified_folds(frame, "label", 4, 0.2, seed=0)
    assert sorted(pd.concat([fold["test"] for fold in folds])["row"]) == list(range(60))
    for fold in folds:
        assert len(fold["test"]) == 15 and fold["test"]["label"].value_counts().to_dict() == {"a": 5, "b": 5, "c": 5}
        assert len(fold["train"]) + len(fold["validation"]) == 45 and len(fold["validation"]) == 9
    fewer = frame[frame["row"] >= 3]  # 19 rows of each class
    with pytest.raises(InputError, match="^cross_validation.folds: 20 stratified folds need 20 rows of every class; "):
        stratified_folds(fewer, "label", 20, 0.2, seed=0)
