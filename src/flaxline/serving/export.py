"""Exporting a saved model: ``jax.export`` (StableHLO, the batch dimension symbolic) and, where jax2onnx converts the
model, ONNX; with the manifest and tokenizer ``flaxline.serving.exported`` runs them from.

The exported function is the model's inference copy with its parameters as constants, mapping its inputs (token ids
[b, L] and lengths [b], or images [b, H, W, C]) to float32 logits and class probabilities (the model's temperature
applied), for any batch size b.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx
from tokenizers import Tokenizer

from flaxline.engine.inference import as_float32
from flaxline.inputs import Encoding, ImageInputs
from flaxline.models.serialization import ModelArtifact, saved_config
from flaxline.serving.exported import FORMAT, MANIFEST, sha256
from flaxline.text.cleaning import CleaningPolicy

logger = logging.getLogger(__name__)


def input_specs(encoding: Encoding) -> list[dict[str, Any]]:
    """The exported function's inputs: name, dtype and shape (``"b"``: the batch, any size)."""
    if isinstance(encoding.inputs, ImageInputs):
        return [{"name": "images", "dtype": "uint8", "shape": ["b", *encoding.inputs.shape]}]
    return [
        {"name": "ids", "dtype": "int32", "shape": ["b", encoding.max_length]},
        {"name": "lengths", "dtype": "int32", "shape": ["b"]},
    ]


def classifier_function(model: ModelArtifact, encoding: Encoding):
    """(inputs...) → (logits, probabilities) of ``model``'s inference copy, its parameters closed over."""
    # nnx.split is typed as returning tuple[GraphDef, State, *tuple[State, ...]]: mypy will not unpack it
    graphdef, keys, state = nnx.split(model.model.for_inference(), nnx.RngState, ...)  # type: ignore[misc]
    names = [spec["name"] for spec in input_specs(encoding)]
    temperature = model.config.temperature

    def classify(*arrays: jax.Array) -> tuple[jax.Array, jax.Array]:
        # Dropout's keys (unused in evaluation mode) stay out: ONNX has no key type.
        module = nnx.merge(graphdef, keys, state)
        logits = as_float32(module(dict(zip(names, arrays, strict=True))))
        return logits, jax.nn.softmax(logits / temperature, axis=-1)

    return classify


def exported_files(
    model: ModelArtifact, encoding: dict, tokenizer: Tokenizer | None, policy: CleaningPolicy, onnx: bool
) -> dict[str, bytes]:
    """The files of an export folder (``flaxline.serving.exported``): StableHLO, ONNX if asked for and jax2onnx
    converts the model (otherwise the manifest says why not), the tokenizer, and the manifest."""
    described = Encoding.model_validate(encoding)
    specs = input_specs(described)
    function = classifier_function(model, described)
    (batch,) = jax.export.symbolic_shape("b")
    shapes = [
        jax.ShapeDtypeStruct(tuple(batch if size == "b" else size for size in spec["shape"]), jnp.dtype(spec["dtype"]))
        for spec in specs
    ]
    files = {"model.jaxexport": bytes(jax.export.export(jax.jit(function))(*shapes).serialize())}
    onnx_error = None
    if onnx:
        try:
            files["model.onnx"] = onnx_bytes(function, specs)
        except Exception as error:  # jax2onnx raises many kinds; the export stands without ONNX, saying why
            onnx_error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
            logger.warning("no ONNX export for model '%s': %s", model.config.model.name, onnx_error)
    if tokenizer is not None:
        files["tokenizer.json"] = tokenizer.to_str().encode("utf-8")
    manifest = {
        "format": FORMAT,
        "model": saved_config(model.config),
        "classes": list(described.classes or ()),
        "inputs": specs,
        "outputs": ["logits", "probabilities"],
        "max_length": described.max_length,
        "cleaning": policy.model_dump(mode="json"),
        "encoding_digest": model.config.encoding_digest,
        "jax_version": jax.__version__,
        "platforms": ["cpu"],
        "onnx_error": onnx_error,
        "files": {name: sha256(data) for name, data in sorted(files.items())},
    }
    return files | {MANIFEST: json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")}


def onnx_bytes(function, specs: list[dict[str, Any]]) -> bytes:
    """``function`` in ONNX (jax2onnx), its batch dimension symbolic."""
    from jax2onnx import to_onnx  # imported only for an export: it patches JAX and Flax functions while converting

    shapes = [
        jax.ShapeDtypeStruct(tuple("B" if size == "b" else size for size in spec["shape"]), jnp.dtype(spec["dtype"]))
        for spec in specs
    ]
    proto = to_onnx(
        function,
        inputs=shapes,
        input_names=[spec["name"] for spec in specs],
        output_names=["logits", "probabilities"],
    )
    return proto.SerializeToString()
