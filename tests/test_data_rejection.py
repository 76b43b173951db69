import pandas as pd
import pytest

from flaxline.data.rejection import Rejections, check_rejection_limits, normalized_labels, vote_on_copies
from flaxline.errors import InputError
from flaxline.pipelines.text_processing.nodes import TextProcessingParams


def rejected(reasons: dict[str, int]) -> pd.DataFrame:
    rows = [(reason, index) for reason, count in reasons.items() for index in range(count)]
    return pd.DataFrame(
        {
            "row": [i + 2 for i in range(len(rows))],
            "reason": [r for r, _ in rows],
            "detail": ["label ' Positive '"] * len(rows),
        }
    )


def test_limits_default_per_reason_and_can_be_set():
    limits = TextProcessingParams.model_validate({"max_rejected_fraction": {"unknown_label": 0.01}}).limits()
    assert limits["unknown_label"] == 0.01 and limits["parse_error"] == 0.05 and limits["duplicate"] == 1.0
    with pytest.raises(InputError, match="^max_rejected_fraction: unknown reason 'typo'; known: parse_error, "):
        TextProcessingParams.model_validate({"max_rejected_fraction": {"typo": 0.1}})
    with pytest.raises(InputError, match="^max_rejected_fraction: each limit is a share of the rows, from 0 to 1$"):
        TextProcessingParams.model_validate({"max_rejected_fraction": {"duplicate": 2}})


def test_a_reason_past_its_limit_stops_in_one_line_naming_the_source_and_a_row():
    limits = TextProcessingParams().limits()
    check_rejection_limits(
        rejected({"unknown_label": 5, "duplicate": 90}), 100, limits, "raw.csv"
    )  # 5 % and copies: fine
    with pytest.raises(InputError) as raised:
        check_rejection_limits(rejected({"unknown_label": 34}), 100, limits, "raw.csv")
    assert str(raised.value) == (
        "raw.csv: 34 of 100 rows (34.0%) rejected as unknown_label, above the limit of 5.0%; the first is row 2 "
        "(label ' Positive '); see the task's rejected rows, or set "
        "data_processing.max_rejected_fraction.unknown_label or data_processing.label_normalization"
    )


def test_normalised_labels_keep_the_classes_spelling():
    labels = pd.Series(["positive", " Positive ", "NEGATIVE", "other"])
    assert normalized_labels(labels, ["positive", "negative"], "casefold").tolist() == [
        "positive",
        "positive",
        "negative",
        "other",
    ]
    assert normalized_labels(labels, ["positive"], "strip").tolist() == ["positive", "Positive", "NEGATIVE", "other"]


def test_copies_vote_on_their_label():
    frame = pd.DataFrame(
        {"row": [1, 2, 3, 4], "label": ["a", "a", "b", "c"], "confidence": [0.1, 0.9, 1.0, float("nan")]}
    )
    rejections = Rejections(frame.index)
    vote_on_copies(frame, pd.Series(["x", "x", "x", "y"]), rejections)
    assert rejections.reason.tolist() == ["duplicate", "", "conflicting_label", ""]
    assert rejections.detail.tolist() == ["duplicate of row 2", "", "label vote won by 'a' of 3 copies", ""]
