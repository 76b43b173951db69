import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flaxline.data.cleaning import ColumnRoles, clean_table
from flaxline.data.schema import raw_schema, validate
from flaxline.errors import InputError

CLASSES = ["negative", "neutral", "positive"]
ROLES = ColumnRoles(text="text", label="sentiment", confidence="confidence")


def raw(rows):
    frame = pd.DataFrame(rows, columns=["sentiment", "confidence", "text"], dtype=object)
    frame["source_line"] = range(2, len(frame) + 2)
    frame["parse_error"] = ""
    return frame


def reasons(result):
    return dict(zip(result.rejected["row"], result.rejected["reason"]))


def test_each_rule_rejects_with_its_reason_and_keeps_the_rest():
    frame = raw(
        [
            ["positive", "0.9", "good"],
            ["", "0.9", "no label"],
            ["negative", "0.5", "   "],
            ["angry", "0.5", "unknown label"],
            ["neutral", "high", "bad confidence"],
            ["neutral", "1.5", "confidence out of range"],
            ["neutral", "", "missing confidence is fine"],
            ["negative", "0.5", "’¢_äŒÅ–"],
        ]
    )
    frame.loc[7, "parse_error"] = "expected 3 fields, found 4"
    result = clean_table(frame, ROLES, CLASSES)
    assert reasons(result) == {
        3: "missing_label",
        4: "missing_text",
        5: "unknown_label",
        6: "invalid_confidence",
        7: "invalid_confidence",
        9: "parse_error",
    }
    assert list(result.kept["text"]) == ["good", "missing confidence is fine"]
    assert result.kept["confidence"].isna().tolist() == [False, True]
    assert result.report["raw_rows"] == result.report["kept_rows"] + result.report["rejected_rows"] == 8


def test_text_that_cleans_to_nothing_is_rejected():
    result = clean_table(raw([["negative", "0.5", "’¢_äŒÅ–"]]), ROLES, CLASSES)
    assert reasons(result) == {2: "empty_after_cleaning"}


def test_min_confidence_rejects_below_it():
    result = clean_table(raw([["positive", "0.3", "a"], ["positive", "0.8", "b"]]), ROLES, CLASSES, min_confidence=0.5)
    assert reasons(result) == {2: "low_confidence"}


def test_copies_vote_and_the_most_confident_winner_is_kept():
    frame = raw(
        [
            ["positive", "0.6", "Great http://a.co/1"],
            ["positive", "0.9", "great http://b.co/2"],  # the same text once links are replaced
            ["negative", "0.99", "GREAT http://c.co/3"],  # outvoted two to one
            ["neutral", "0.5", "tie"],
            ["negative", "0.5", "tie"],  # tied on copies and confidence: all rejected
        ]
    )
    result = clean_table(frame, ROLES, CLASSES)
    assert reasons(result) == {2: "duplicate", 4: "conflicting_label", 5: "conflicting_label", 6: "conflicting_label"}
    assert result.kept["row"].tolist() == [3]
    details = dict(zip(result.rejected["row"], result.rejected["detail"]))
    assert details[2] == "duplicate of row 3"
    assert details[4] == "label vote won by 'positive' of 3 copies"
    assert details[5] == "label vote tied of 2 copies"


def test_copies_are_compared_within_a_split_when_the_data_comes_split():
    frame = raw([["positive", "", "same text"], ["positive", "", "same text"], ["negative", "", "same text"]])
    frame["split"] = ["train", "train", "test"]
    result = clean_table(frame, ROLES, CLASSES)
    assert reasons(result) == {3: "duplicate"}
    assert result.kept[["split", "label"]].values.tolist() == [["train", "positive"], ["test", "negative"]]


def test_missing_column_and_empty_table_name_the_file():
    with pytest.raises(InputError, match=r"^raw\.csv: column 'sentiment' not in dataframe"):
        validate(pd.DataFrame({"text": ["a"]}), raw_schema("text", "sentiment"), "raw.csv")
    empty = pd.DataFrame({"text": [], "sentiment": []}, dtype=object)
    with pytest.raises(InputError, match=r"^raw\.csv: the file has a header but no data rows$"):
        validate(empty, raw_schema("text", "sentiment"), "raw.csv")
    with pytest.raises(InputError, match=r"^raw\.parquet: expected series 'text' to have type object"):
        validate(pd.DataFrame({"text": [1], "sentiment": ["a"]}), raw_schema("text", "sentiment"), "raw.parquet")


cells = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(CLASSES + ["0.5", "", "1e9"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cells, cells, cells), max_size=25))
def test_every_row_is_kept_or_rejected_exactly_once(rows):
    frame = raw(rows)
    result = clean_table(frame, ROLES, CLASSES)
    rows_out = sorted([*result.kept["row"], *result.rejected["row"]])
    assert rows_out == sorted(frame["source_line"])
    assert result.kept["text"].str.len().gt(0).all()
