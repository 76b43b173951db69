"""Integrated gradients for every model of the zoo (flaxline.evaluation.attribution)."""

from __future__ import annotations

import numpy as np
import pytest

from flaxline.evaluation.attribution import integrated_gradients
from flaxline.models import ModelConfig, build_model

VOCABULARY = ["[PAD]", "[UNK]", *(f"word{index}" for index in range(48))]
TOKENS = {"type": "tokens", "vocab_size": 50, "vocabulary": VOCABULARY}
IMAGES = {"type": "images", "shape": [8, 8, 1], "mean": [8.0], "std": [4.0]}
TEXT_MODELS = [
    {"name": "lstm", "embed_dim": 8, "hidden_dim": 8},
    {"name": "bilstm_attention", "embed_dim": 8, "hidden_dim": 8, "mlp_dim": 8, "subword_buckets": 64},
    {"name": "transformer", "dim": 16, "heads": 2, "layers": 1, "mlp_dim": 16},
    {"name": "cnn", "embed_dim": 8, "filters": 4},
    {"name": "ensemble", "size": 2, "member": {"name": "lstm", "embed_dim": 8, "hidden_dim": 8}},
]
IMAGE_MODELS = [
    {"name": "cnn2d", "channels": [4], "dense_dim": 8},
    {"name": "ensemble", "size": 2, "member": {"name": "cnn2d", "channels": [4], "dense_dim": 8}},
]
TARGETS = np.array([0, 1, 2, 0])


def sentences() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    lengths = np.array([12, 7, 3, 10], np.int32)
    ids = rng.integers(2, 50, (4, 12)).astype(np.int32)
    ids[np.arange(12)[None] >= lengths[:, None]] = 0
    return {"ids": ids, "lengths": lengths}


@pytest.mark.parametrize("settings", TEXT_MODELS, ids=lambda settings: settings["name"])
def test_token_attributions_sum_to_the_logit_change_and_leave_padding_out(settings):
    model = build_model(ModelConfig.model_validate({"model": settings, "inputs": TOKENS, "outputs": 3}))
    batch = sentences()
    attributions, gap, _ = integrated_gradients(model, batch, TARGETS, steps=32)
    assert attributions.shape == (4, 12) and np.all(attributions[batch["ids"] == 0] == 0)
    assert np.abs(attributions).sum(axis=1).min() > 0
    assert np.abs(gap).max() < 1e-2 * np.abs(attributions).sum(axis=1).max()


@pytest.mark.parametrize("settings", IMAGE_MODELS, ids=lambda settings: settings["name"])
def test_pixel_attributions_sum_to_the_change_from_a_black_image(settings):
    model = build_model(ModelConfig.model_validate({"model": settings, "inputs": IMAGES, "outputs": 3}))
    images = np.random.default_rng(1).integers(0, 17, (4, 8, 8, 1)).astype(np.uint8)
    attributions, gap, reported = integrated_gradients(model, {"images": images}, TARGETS, steps=256)
    model.eval()
    rows = np.arange(4)
    change = (
        np.asarray(model({"images": images}))[rows, TARGETS]
        - np.asarray(model({"images": np.zeros_like(images)}))[rows, TARGETS]
    )
    assert attributions.shape == images.shape
    np.testing.assert_allclose(attributions.reshape(4, -1).sum(axis=1), change, atol=2e-2 * np.abs(change).max())
    np.testing.assert_allclose(reported, change, atol=1e-4)
    np.testing.assert_allclose(gap, attributions.reshape(4, -1).sum(axis=1) - change, atol=1e-4)


def test_mean_baselines_are_the_mean_embedding_and_the_training_mean_colour():
    text = build_model(ModelConfig.model_validate({"model": TEXT_MODELS[3], "inputs": TOKENS, "outputs": 3}))
    batch = sentences()
    attributions, gap, _ = integrated_gradients(text, batch, TARGETS, steps=32, baseline="mean")
    assert np.abs(gap).max() < 1e-2 * np.abs(attributions).sum(axis=1).max()
    assert not np.allclose(attributions, integrated_gradients(text, batch, TARGETS, steps=32)[0])

    image = build_model(ModelConfig.model_validate({"model": IMAGE_MODELS[0], "inputs": IMAGES, "outputs": 3}))
    images = np.random.default_rng(1).integers(0, 17, (4, 8, 8, 1)).astype(np.uint8)
    attributions, gap, reported = integrated_gradients(image, {"images": images}, TARGETS, steps=256, baseline="mean")
    image.eval()
    grey = np.full((4, 8, 8, 1), 8.0, np.float32)  # the inputs' mean: the model normalises it to zero
    rows = np.arange(4)
    change = np.asarray(image({"images": images}))[rows, TARGETS] - np.asarray(image({"images": grey}))[rows, TARGETS]
    np.testing.assert_allclose(attributions.reshape(4, -1).sum(axis=1), change, atol=2e-2 * np.abs(change).max())
    np.testing.assert_allclose(reported, change, atol=1e-4)
