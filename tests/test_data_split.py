import pandas as pd
import pytest

from flaxline.data.split import stratified_split
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
