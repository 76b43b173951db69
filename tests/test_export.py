"""Every float32 classifier of the zoo exports to StableHLO and to ONNX, each computing the model's probabilities."""

from __future__ import annotations

import jax
import numpy as np
import onnxruntime
import pytest

from flaxline.inputs import Encoding
from flaxline.models import build_model
from flaxline.models.serialization import ModelArtifact
from flaxline.serving.export import classifier_function, input_specs, onnx_bytes
from tests.test_models import BATCH, IMAGE_VARIANTS, IMAGES, LSTM, PIXELS, TEXT_VARIANTS, TOKENS, config

# The first variant of each classifier under test in test_models.
CLASSIFIERS = list({variant["name"]: variant for variant in reversed(TEXT_VARIANTS)}.values()) + list(
    {variant["name"]: variant for variant in reversed(IMAGE_VARIANTS)}.values()
)


@pytest.mark.parametrize("variant", CLASSIFIERS, ids=lambda variant: variant["name"])
def test_stablehlo_and_onnx_compute_the_models_probabilities(variant):
    images = variant in IMAGE_VARIANTS
    inputs, batch = (IMAGES, PIXELS) if images else (TOKENS, BATCH)
    described = config(LSTM | variant if variant["name"] == "lstm" else variant, inputs)
    encoding = Encoding.model_validate(
        {"inputs": inputs, "outputs": 3, "classes": ["a", "b", "c"], "max_length": BATCH["ids"].shape[1]}
    )
    function = classifier_function(ModelArtifact(build_model(described), described), encoding)
    specs = input_specs(encoding)
    arrays = [batch[spec["name"]] for spec in specs]
    expected = np.asarray(function(*arrays)[1])
    (size,) = jax.export.symbolic_shape("b")
    shapes = [jax.ShapeDtypeStruct((size, *array.shape[1:]), array.dtype) for array in arrays]
    exported = jax.export.export(jax.jit(function))(*shapes)
    np.testing.assert_allclose(exported.call(*arrays)[1], expected, atol=1e-6)
    session = onnxruntime.InferenceSession(onnx_bytes(function, specs))
    _, probabilities = session.run(None, {spec["name"]: array for spec, array in zip(specs, arrays, strict=True)})
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
