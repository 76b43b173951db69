"""Compression of the zoo's models: int8 quantization (qwix) that reloads from its file, magnitude pruning held through
fine-tuning, structured pruning that keeps the model's function when it removes nothing."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from flaxline.compression.pruning import PruningSpec, magnitude_masks, structured, unstructured
from flaxline.compression.quantization import Int8Rows, QuantizationRule, QuantizationSpec, quantized
from flaxline.engine.loop import TrainingData
from flaxline.errors import InputError
from flaxline.models import ModelConfig, build_model
from flaxline.models.serialization import model_from_bytes, model_to_bytes

TOKENS = {"type": "tokens", "vocab_size": 60}
IMAGES = {"type": "images", "shape": [8, 8, 1], "mean": [0.5], "std": [0.2]}
ENCODER = {
    "name": "pretrained_encoder",
    "weights": "unused",
    "architecture": {
        "vocab_size": 60,
        "hidden_size": 16,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 16,
    },
}
MODELS = {
    "lstm": ({"name": "lstm", "embed_dim": 8, "hidden_dim": 12, "pooling": "mean"}, TOKENS),
    "bilstm_attention": ({"name": "bilstm_attention", "embed_dim": 8, "hidden_dim": 8, "mlp_dim": 16}, TOKENS),
    "cnn": ({"name": "cnn", "embed_dim": 8, "filters": 6}, TOKENS),
    "transformer": ({"name": "transformer", "dim": 16, "heads": 2, "layers": 1, "mlp_dim": 24}, TOKENS),
    "pretrained_encoder": (ENCODER, TOKENS),
    "ensemble": (
        {"name": "ensemble", "size": 2, "member": {"name": "lstm", "embed_dim": 8, "hidden_dim": 8}},
        TOKENS,
    ),
    "cnn2d": ({"name": "cnn2d", "channels": [4], "dense_dim": 8}, IMAGES),
    "resnet": ({"name": "resnet", "widths": [4], "blocks_per_stage": 1, "groups": 2}, IMAGES),
}


def batch_for(inputs: dict) -> dict[str, jax.Array]:
    rng = np.random.default_rng(0)
    if inputs["type"] == "images":
        return {"images": jnp.asarray(rng.integers(0, 256, (4, 8, 8, 1)), jnp.uint8)}
    return {"ids": jnp.asarray(rng.integers(1, 60, (4, 12)), jnp.int32), "lengths": jnp.asarray([12, 7, 3, 1])}


def built(name: str) -> tuple[nnx.Module, ModelConfig, dict]:
    spec, inputs = MODELS[name]
    config = ModelConfig.model_validate({"model": spec, "inputs": inputs, "outputs": 3})
    model = build_model(config)
    model.eval()
    return model, config, batch_for(inputs)


def compiled_outputs(model: nnx.Module, batch: dict) -> np.ndarray:
    graphdef, params, rest = nnx.split(model.for_inference(), nnx.Param, ...)
    return np.asarray(jax.jit(lambda p, r, b: nnx.merge(graphdef, p, r)(b))(params, rest, batch))


@pytest.mark.parametrize("name", MODELS)
def test_an_int8_model_stays_close_and_reloads_from_its_file_identical(name):
    model, config, batch = built(name)
    spec = QuantizationSpec()
    int8 = quantized(model, spec, config.inputs)
    before = compiled_outputs(model, batch)
    after = compiled_outputs(int8, batch)
    assert np.abs(after - before).max() < 0.1 * max(np.abs(before).max(), 1.0)
    data = model_to_bytes(int8, config.model_copy(update={"quantization": spec}))
    header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    dtypes = {name: tensor["dtype"] for name, tensor in header.items() if name != "__metadata__"}
    assert {dtype for tensor, dtype in dtypes.items() if tensor.endswith((".qvalue", ".values"))} == {"I8"}
    assert not [tensor for tensor, dtype in dtypes.items() if dtype == "F32" and tensor.endswith(".kernel")]
    reloaded, reloaded_config = model_from_bytes(data, "int8.safetensors")
    assert reloaded_config.quantization == spec
    np.testing.assert_array_equal(compiled_outputs(reloaded, batch), after)


def test_embedding_rows_are_int8_with_a_scale_each():
    model, config, _ = built("lstm")
    table = np.asarray(model.embed.embedding[...])
    int8 = quantized(model, QuantizationSpec(), config.inputs)
    rows = int8.embed.embedding
    assert isinstance(rows, Int8Rows) and rows.values[...].dtype == jnp.int8 and rows.scales[...].shape == (60, 1)
    error = np.abs(np.asarray(rows[...]) - table).max(axis=1)
    assert (error <= np.abs(table).max(axis=1) / 127 / 2 + 1e-7).all()  # half a step of each row's own scale
    kept = quantized(built("lstm")[0], QuantizationSpec(embeddings="float32"), config.inputs)
    assert isinstance(kept.embed.embedding, nnx.Param)


def test_weight_only_products_and_rules_by_module_path():
    model, config, batch = built("transformer")
    spec = QuantizationSpec(
        rules=(QuantizationRule(module_path="head", weights="none"), QuantizationRule(activations="none"))
    )
    int8 = quantized(model, spec, config.inputs)
    flat = {"/".join(map(str, path)): value for path, value in nnx.to_flat_state(nnx.state(int8, nnx.Param))}
    assert flat["head/kernel"].get_value().dtype == jnp.float32
    assert flat["blocks/0/mlp_in/kernel/array/qvalue"].get_value().dtype == jnp.int8
    assert np.abs(compiled_outputs(int8, batch) - compiled_outputs(model, batch)).max() < 0.1


def test_a_rule_that_matches_nothing_or_a_weight_only_convolution_is_one_line():
    model, config, _ = built("cnn")
    with pytest.raises(InputError, match="the rule for 'decoder.*' matches no product"):
        quantized(
            model,
            QuantizationSpec(rules=(QuantizationRule(), QuantizationRule(module_path="decoder.*"))),
            config.inputs,
        )
    with pytest.raises(InputError, match="^compression.quantization: .*conv_general_dilated"):
        quantized(model, QuantizationSpec(rules=(QuantizationRule(activations="none"),)), config.inputs)


def test_a_file_of_an_unknown_scheme_is_one_line_naming_it():
    model, config, _ = built("cnn")
    data = model_to_bytes(
        quantized(model, QuantizationSpec(), config.inputs),
        config.model_copy(update={"quantization": QuantizationSpec()}),
    )
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    described = json.loads(header["__metadata__"]["flaxline"])
    described["config"]["quantization"]["rules"][0]["weights"] = "int3"
    header["__metadata__"]["flaxline"] = json.dumps(described)
    text = json.dumps(header).encode()
    text += b" " * (size - len(text)) if len(text) <= size else b""
    changed = len(text).to_bytes(8, "little") + text + data[8 + size :]
    with pytest.raises(
        InputError, match=r"^model.safetensors: model configuration: quantization.rules.0.weights: 'int3'"
    ):
        model_from_bytes(changed, "model.safetensors")


def test_magnitude_masks_prune_each_matrix_to_its_share():
    model, _, _ = built("lstm")
    masks = magnitude_masks(nnx.state(model, nnx.Param), 0.75)
    for mask, parameter in zip(jax.tree.leaves(masks), jax.tree.leaves(nnx.state(model, nnx.Param)), strict=True):
        kept = float(mask.mean())
        assert kept == 1.0 if parameter.ndim < 2 else abs(kept - 0.25) < 0.02


def test_pruned_entries_stay_zero_through_the_fine_tune():
    model, config, _ = built("cnn")
    rng = np.random.default_rng(0)
    arrays = {"ids": rng.integers(1, 60, (64, 12)).astype(np.int32), "lengths": np.full(64, 12, np.int32)}
    arrays["labels"] = rng.integers(0, 3, 64).astype(np.int32)
    before = jax.tree.map(np.asarray, nnx.state(model, nnx.Param))
    history = unstructured(model, config, PruningSpec(sparsity=0.5), TrainingData(arrays, arrays, ("ids",)))
    after = jax.tree.map(np.asarray, nnx.state(model, nnx.Param))
    assert len(history) == 1
    for old, new in zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True):
        if old.ndim >= 2:
            assert abs((new == 0).mean() - 0.5) < 0.02 and not np.array_equal(old[new != 0], new[new != 0])


@pytest.mark.parametrize("name", ["lstm", "cnn", "transformer", "pretrained_encoder"])
def test_structured_pruning_that_removes_nothing_keeps_the_function_and_half_halves_the_units(name):
    model, config, batch = built(name)
    kept, _ = structured(model, config, 1e-6)
    np.testing.assert_allclose(compiled_outputs(kept, batch), compiled_outputs(model, batch), atol=1e-6)
    halved, narrower = structured(model, config, 0.5)
    field, width = {"lstm": ("hidden_dim", 6), "cnn": ("filters", 3), "transformer": ("mlp_dim", 12)}.get(
        name, ("intermediate_size", 16)
    )
    assert getattr(narrower.model.architecture if name == "pretrained_encoder" else narrower.model, field) == width
    assert sum(x.size for x in jax.tree.leaves(nnx.state(halved, nnx.Param))) < sum(
        x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))
    )
    assert compiled_outputs(halved, batch).shape == (4, 3)


def test_structured_pruning_names_the_models_it_applies_to():
    model, config, _ = built("bilstm_attention")
    with pytest.raises(InputError, match="applies to lstm, cnn, transformer, pretrained_encoder, not model 'bilstm"):
        structured(model, config, 0.5)
