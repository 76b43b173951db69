import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flaxline.data.schema import raw_schema, trainable_schema, validate
from flaxline.errors import InputError
from flaxline.text.cleaning import CleaningPolicy
from flaxline.text.rows import TextColumns, clean_table

CLASSES = ["negative", "neutral", "positive"]
ROLES = TextColumns(text="text", label="sentiment", confidence="confidence")
TOKEN_POLICIES = st.sampled_from(["keep", "replace", "remove"])


def raw(rows):
    frame = pd.DataFrame(rows, columns=["sentiment", "confidence", "text"], dtype=object)
    frame["source_line"] = range(2, len(frame) + 2)
    frame["parse_error"] = ""
    return frame


def reasons(result):
    return dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))


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
    details = dict(zip(result.rejected["row"], result.rejected["detail"], strict=True))
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
    with pytest.raises(InputError, match=r"^raw\.csv: column 'sentiment' is missing; the columns are 'text'$"):
        validate(pd.DataFrame({"text": ["a"]}), raw_schema("text", "sentiment"), "raw.csv")
    empty = pd.DataFrame({"text": [], "sentiment": []}, dtype="str")
    with pytest.raises(InputError, match=r"^raw\.csv: the file has a header but no data rows$"):
        validate(empty, raw_schema("text", "sentiment"), "raw.csv")
    with pytest.raises(InputError, match=r"^raw\.parquet: column 'text' holds int64 values; expected text$"):
        validate(pd.DataFrame({"text": [1], "sentiment": ["a"]}), raw_schema("text", "sentiment"), "raw.parquet")
    with pytest.raises(InputError, match=r"^raw\.csv: column 'confidence' is missing"):
        validate(
            pd.DataFrame({"text": ["a"], "sentiment": ["a"]}), raw_schema("text", "sentiment", "confidence"), "raw.csv"
        )


def test_a_value_of_another_type_is_named_by_its_row():
    frame = pd.DataFrame({"text": pd.Series(["fine", 3.5], dtype=object), "sentiment": ["a", "b"]})
    with pytest.raises(InputError, match=r"^raw\.parquet: column 'text' row 2: float 3\.5; expected text$"):
        validate(frame, raw_schema("text", "sentiment"), "raw.parquet")


def test_integer_labels_are_read_as_text_and_a_missing_one_stays_missing():
    frame = pd.DataFrame({"text": ["a", "b", "c"], "sentiment": pd.array([0, 1, None], dtype="Int64")})
    labels = validate(frame, raw_schema("text", "sentiment"), "raw.parquet")["sentiment"]
    assert labels[:2].tolist() == ["0", "1"] and pd.isna(labels[2])


def test_fewer_than_two_kept_classes_name_the_file_and_the_label_column():
    kept = pd.DataFrame({"label": ["positive", "positive"]})
    with pytest.raises(InputError, match=r"^raw\.csv: column 'sentiment': fewer than two classes among the kept rows"):
        validate(kept, trainable_schema("sentiment"), "raw.csv")
    two = pd.DataFrame({"label": ["positive", "negative"]})
    assert validate(two, trainable_schema("sentiment"), "raw.csv").equals(two)


REASONS = {
    "parse_error",
    "missing_text",
    "missing_label",
    "unknown_label",
    "invalid_confidence",
    "low_confidence",
    "empty_after_cleaning",
    "conflicting_label",
    "duplicate",
}
# Any text a reader can produce (decoded bytes, parquet strings: never lone surrogates), and the values that
# steer the rules: the classes, padded or cased otherwise, numbers, NaN spellings.
any_cell = st.one_of(
    st.none(),
    st.text(),
    st.sampled_from(
        [*CLASSES, " positive ", "Positive", "0.5", "", "1e9", "-1", "nan", "NaN", "http://t.co/x", "#tag @you"]
    ),
)


def cell_text(value: str | None) -> str:
    return "" if value is None else value


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(any_cell, any_cell, any_cell), max_size=25),
    extra_classes=st.lists(st.text(max_size=8), max_size=3),
    min_confidence=st.one_of(st.none(), st.floats(0, 1)),
    policy=st.builds(CleaningPolicy, urls=TOKEN_POLICIES, mentions=TOKEN_POLICIES, hashtags=TOKEN_POLICIES),
    splits=st.one_of(st.none(), st.lists(st.sampled_from(["train", "validation", "test"]), min_size=25, max_size=25)),
    normalization=st.sampled_from(["none", "strip", "casefold"]),
)
def test_the_cleaner_never_raises_and_kept_plus_rejected_is_the_input(
    rows, extra_classes, min_confidence, policy, splits, normalization
):
    frame = raw(rows)
    frame["parse_error"] = ["" if i % 7 else "expected 3 fields, found 2" for i in range(len(frame))]
    if splits is not None:
        frame["split"] = splits[: len(frame)]
    classes = CLASSES + extra_classes
    result = clean_table(frame, ROLES, classes, policy, min_confidence, normalization)

    kept, rejected = result.kept, result.rejected
    assert sorted([*kept["row"], *rejected["row"]]) == frame["source_line"].tolist()
    by_row = frame.set_index("source_line")
    assert rejected["text"].tolist() == [cell_text(by_row.loc[row, "text"]) for row in rejected["row"]]
    assert rejected["label"].tolist() == [cell_text(by_row.loc[row, "sentiment"]) for row in rejected["row"]]
    spelled = {"none": lambda label: label, "strip": str.strip, "casefold": lambda label: label.strip().casefold()}[
        normalization
    ]
    assert [spelled(label) for label in kept["label"]] == [
        spelled(cell_text(by_row.loc[row, "sentiment"])) for row in kept["row"]
    ]
    assert set(rejected["reason"]) <= REASONS and set(kept["label"]) <= set(classes)
    assert kept["text"].str.len().gt(0).all()
    if splits is not None:
        assert kept["split"].tolist() == [by_row.loc[row, "split"] for row in kept["row"]]
    report = result.report
    assert report["raw_rows"] == len(frame) == report["kept_rows"] + report["rejected_rows"]
    assert sum(report["rejected_by_reason"].values()) == len(rejected)


@pytest.mark.parametrize(
    ("normalization", "kept_labels"),
    [("none", ["positive"]), ("strip", ["positive", "negative"]), ("casefold", ["positive", "negative", "neutral"])],
)
def test_labels_are_compared_as_spelt_unless_normalised(normalization, kept_labels):
    frame = raw([["positive", "", "one"], [" negative ", "", "two"], [" Neutral", "", "three"]])
    result = clean_table(frame, ROLES, CLASSES, label_normalization=normalization)
    assert result.kept["label"].tolist() == kept_labels
    assert (result.rejected["reason"] == "unknown_label").all()
    assert (
        result.rejected["label"].tolist() == [" negative ", " Neutral"][len(kept_labels) - 1 :]
    )  # as the file spells them
