"""Datasets for flaxline's artifacts: arrays, tokenizers and models. None of them unpickles."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from tokenizers import Tokenizer

from flaxline.datasets._bytes import BytesDataset
from flaxline.errors import InputError
from flaxline.models.serialization import ModelArtifact, model_from_bytes, model_to_bytes


class NpzDataset(BytesDataset):
    """A dict of named numpy arrays in one ``.npz`` file (loaded with ``allow_pickle=False``)."""

    def encode(self, data: dict[str, np.ndarray]) -> bytes:
        buffer = io.BytesIO()
        # numpy's stub would match the arrays (**kwds) against its allow_pickle: bool parameter
        np.savez(buffer, **data)  # type: ignore[arg-type]
        return buffer.getvalue()

    def decode(self, data: bytes, source: str) -> dict[str, np.ndarray]:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                return {name: arrays[name] for name in arrays.files}
        except (ValueError, OSError, zipfile.BadZipFile) as error:
            raise InputError(f"{source}: not a readable npz file ({error})") from None


class TokenizerDataset(BytesDataset):
    """A HF ``tokenizers.Tokenizer`` as its own JSON file."""

    def encode(self, data: Tokenizer) -> bytes:
        return data.to_str(pretty=True).encode("utf-8")

    def decode(self, data: bytes, source: str) -> Tokenizer:
        try:
            return Tokenizer.from_str(data.decode("utf-8"))
        except Exception as error:  # tokenizers raises its own Exception subclass for any bad JSON
            raise InputError(f"{source}: not a tokenizer JSON file ({str(error).splitlines()[0]})") from None


class FlaxModelDataset(BytesDataset):
    """A model as one ``.safetensors`` file: parameters as tensors, configuration as JSON metadata."""

    def encode(self, data: ModelArtifact) -> bytes:
        return model_to_bytes(data.model, data.config)

    def decode(self, data: bytes, source: str) -> ModelArtifact:
        model, config = model_from_bytes(data, source)
        return ModelArtifact(model, config)
