"""Saving a model as one safetensors file: parameters as tensors, configuration as JSON metadata.

Nothing is unpickled on load: the header is JSON, the tensors raw bytes, and the model is
rebuilt from its registered class. Shapes and names are checked against the configuration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
from flax import nnx
from safetensors import SafetensorError
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from flaxline.errors import InputError
from flaxline.inputs import TokenInputs, encoding_digest
from flaxline.models import ModelConfig, ZooModel, build_model
from flaxline.models.base import nested_state
from flaxline.models.embedding import Constant

FORMAT = "flaxline.model/2"
# What a file holds: the learnt parameters and the arrays a model is built with (a subword table).
SAVED = (nnx.Param, Constant)


@dataclass
class ModelArtifact:
    """A trained model with the configuration that rebuilds it.

    ``checkpoint_folder`` holds the checkpoints of the run that trained it, if any, kept until
    the model is saved (never saved itself).
    """

    model: ZooModel
    config: ModelConfig
    checkpoint_folder: Path | None = None


def check_trained_on(model: ModelArtifact, encoding: dict) -> None:
    """One line unless ``model`` was trained on ``encoding`` (models saved without the digest pass)."""
    digest = model.config.encoding_digest
    # An image model normalises with the statistics it carries: only token ids depend on the encoding.
    if isinstance(model.config.inputs, TokenInputs) and digest is not None and digest != encoding_digest(encoding):
        raise InputError(
            f"model '{model.config.model.name}' was trained on another encoding than the one loaded: load the "
            "features its training read (--load-versions with the same version of the encoding and tokenizer)"
        )


def saved_config(config: ModelConfig) -> dict:
    """``config`` as a model file keeps it: without the vocabulary, whose spelling the model saved as tables."""
    return config.model_dump(mode="json", exclude={"inputs": {"vocabulary"}})


def model_to_bytes(model: nnx.Module, config: ModelConfig) -> bytes:
    """Serialise ``model``'s parameters (and constants) and the ``config`` that rebuilds it."""
    tensors = {
        ".".join(map(str, path)): np.asarray(jax.device_get(value))
        for path, value in nnx.to_flat_state(nnx.state(model, SAVED))
    }
    # One metadata key: safetensors writes a map of several in varying order, and files must be byte-identical.
    metadata = {"flaxline": json.dumps({"format": FORMAT, "config": saved_config(config)}, sort_keys=True)}
    return save_tensors(dict(sorted(tensors.items())), metadata=metadata)


def model_from_bytes(data: bytes, source: str) -> tuple[ZooModel, ModelConfig]:
    """Rebuild a model saved by ``model_to_bytes``; ``source`` names the file in errors."""
    header = _read_header(data, source)
    try:
        description = json.loads((header.get("__metadata__") or {})["flaxline"])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise InputError(f"{source}: a safetensors file but not a flaxline model (no 'flaxline' metadata)") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise InputError(f"{source}: not a {FORMAT} file")
    try:
        config = ModelConfig.model_validate(description["config"])
    except InputError as error:
        raise InputError(f"{source}: model configuration: {error}") from None
    try:
        tensors = load_tensors(data)
    except SafetensorError as error:
        raise InputError(f"{source}: corrupt model file ({error})") from None
    model = nnx.eval_shape(lambda: build_model(config))
    flat = dict(nnx.to_flat_state(nnx.state(model, SAVED)))
    expected = {".".join(map(str, path)): value for path, value in flat.items()}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise InputError(
            f"{source}: tensors do not match model '{config.model.name}' "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for name, variable in expected.items():
        if tensors[name].shape != variable.shape or tensors[name].dtype != variable.dtype:
            raise InputError(
                f"{source}: tensor '{name}' is {tensors[name].dtype}{list(tensors[name].shape)} "
                f"but the config expects {variable.dtype}{list(variable.shape)}"
            )
    model = build_model(config)
    state = nnx.state(model, SAVED)
    nnx.replace_by_pure_dict(state, jax.device_put(nested_state(tensors)))
    nnx.update(model, state)
    return model, config


def _read_header(data: bytes, source: str) -> dict:
    if len(data) < 10 or data[8:9] != b"{":
        raise InputError(f"{source}: not a safetensors file (no JSON header after the 8-byte length)")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise InputError(f"{source}: truncated safetensors file (header of {size} bytes, file of {len(data)})")
    try:
        return json.loads(data[8 : 8 + size])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{source}: not a safetensors file (unreadable header)") from None
