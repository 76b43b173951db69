import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from flaxline.evaluation.baselines import PixelLogisticRegressionSpec, TfidfLogisticRegressionSpec, fit_baseline
from flaxline.evaluation.figures import confusion_matrix_figure, learning_curves_figure, misclassified_images_figure
from flaxline.evaluation.fusion import fused_probabilities
from flaxline.evaluation.metrics import classification_metrics, comparison_table, predictions_frame

CLASSES = ["neg", "neu", "pos"]


def test_metrics_match_a_hand_count():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    metrics = classification_metrics(labels, predicted, CLASSES)
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["report"]["neu"]["precision"] == pytest.approx(2 / 3)
    assert metrics["report"]["neu"]["recall"] == pytest.approx(1.0)
    f1 = [0.5, 0.8, 2 / 3]
    assert metrics["macro_f1"] == pytest.approx(np.mean(f1))
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert metrics["report"]["pos"]["support"] == 2


def test_a_class_never_predicted_counts_as_zero():
    metrics = classification_metrics(np.array([0, 1, 2]), np.array([0, 0, 0]), CLASSES)
    assert metrics["report"]["pos"]["f1-score"] == 0.0


def test_predictions_frame_and_comparison_table():
    probabilities = softmax(np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]), axis=1)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    rows = pd.DataFrame({"row": [4, 7], "text": ["a", "b"], "label": ["neg", "neu"], "image": [b"x", b"y"]})
    frame = predictions_frame(rows, np.array([0, 1]), probabilities, CLASSES)
    assert frame.columns.tolist()[:4] == ["row", "text", "label", "predicted"] and "image" not in frame
    assert (
        frame["predicted"].tolist() == ["neg", "pos"]
        and frame["label"].tolist() == ["neg", "neu"]
        and "probability_neu" in frame
    )
    metrics = classification_metrics(np.array([0, 1]), np.array([0, 2]), CLASSES)
    table = comparison_table({"net": metrics, "base": metrics})
    assert table["model"].tolist() == ["net", "base"] and {"macro_f1", "f1_pos", "accuracy"} <= set(table.columns)
    with_intervals = metrics | {"confidence_intervals": {"accuracy": [0.25, 0.75]}}
    lead = {
        "difference": {
            name: {"estimate": 0.1, "interval": [0.0, 0.2], "p_value": 0.5} for name in ("accuracy", "macro_f1")
        }
    }
    table = comparison_table(
        {"net": with_intervals, "base": with_intervals}, {"base": lead | {"mcnemar": {"p_value": 0.3}}}
    )
    assert table["accuracy_low"].tolist() == [0.25, 0.25] and pd.isna(table["lead_accuracy"][0])
    assert table.iloc[1][["lead_macro_f1", "lead_macro_f1_high", "mcnemar_p_value"]].tolist() == [0.1, 0.2, 0.3]


def test_the_text_baseline_learns_words():
    rows = pd.DataFrame({"text": ["good great", "great fun", "bad awful", "awful sad"] * 5})
    model = fit_baseline(TfidfLogisticRegressionSpec(), rows, np.array([1, 1, 0, 0] * 5))
    assert model.predict(pd.DataFrame({"text": ["so great", "so awful"]})).tolist() == [1, 0]


def image_rows(images: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"image": [image.tobytes() for image in images], "height": 4, "width": 4, "channels": 1})


def test_the_image_baseline_learns_pixels():
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 2
    images = rng.integers(0, 40, (40, 4, 4, 1)).astype(np.uint8)
    images[labels == 1, :, :2] = 200  # the left half is bright in class 1
    model = fit_baseline(PixelLogisticRegressionSpec(), image_rows(images), labels)
    assert (model.predict(image_rows(images)) == labels).all()


def test_misclassified_images_are_drawn_most_confident_first():
    predictions = pd.DataFrame(
        {
            "label": ["a", "a", "b"],
            "predicted": ["b", "a", "a"],
            "probability_a": [0.3, 0.9, 0.95],
            "probability_b": [0.7, 0.1, 0.05],
        }
    )
    figure = misclassified_images_figure(np.zeros((3, 4, 4, 1), np.uint8), predictions, ["a", "b"])
    titles = [axes.get_title() for axes in figure.axes if axes.get_title()]
    assert titles == ["b → a\n0.95", "a → b\n0.70"]


def test_figures_draw_one_panel_per_model_and_both_curves():
    figure = confusion_matrix_figure({"a": [[1, 0], [0, 1]], "b": [[0, 1], [1, 0]]}, ["x", "y"])
    assert len(figure.axes) == 2
    history = pd.DataFrame(
        {
            "epoch": [1, 2],
            "train_loss": [1, 0.5],
            "validation_loss": [1, 0.7],
            "train_accuracy": [0.5, 0.8],
            "validation_accuracy": [0.5, 0.7],
        }
    )
    assert [len(axes.lines) for axes in learning_curves_figure(history).axes] == [2, 2]


def test_fusion_averages_probabilities_or_logits_after_each_members_temperature():
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    mean_probability = fused_probabilities([first, second], [2.0, 0.5], "probabilities")
    np.testing.assert_allclose(mean_probability, (softmax(first / 2.0, axis=1) + softmax(second / 0.5, axis=1)) / 2)
    geometric = fused_probabilities([first, second], [2.0, 0.5], "logits")
    expected = np.sqrt(softmax(first / 2.0, axis=1) * softmax(second / 0.5, axis=1))
    np.testing.assert_allclose(geometric, expected / expected.sum(axis=1, keepdims=True))
