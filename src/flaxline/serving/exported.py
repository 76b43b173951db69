"""Running an exported model without flaxline's model code: ``jax.export``'s StableHLO (or the ONNX file with
onnxruntime), the manifest beside it, and for text models the tokenizer and cleaning the training used.

An export is a folder of files (``flaxline.serving.export`` writes it)::

    manifest.json       what the model reads and returns, its classes, and the SHA-256 of every other file
    model.jaxexport     jax.export's serialisation: (inputs...) -> (logits, probabilities), the batch size free
    model.onnx          the same function in ONNX, for the models jax2onnx converts
    tokenizer.json      text models: the tokenizer of the training run

Example::

    from flaxline.serving.exported import ExportedClassifier
    model = ExportedClassifier.from_folder("data/06_models/tweets/export/<version>/export")
    model.predict_texts(["what a lovely day"])   # class probabilities [1, C]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flaxline.errors import InputError

FORMAT = "flaxline.export/1"
MANIFEST = "manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ExportedClassifier:
    """An exported classifier: ``probabilities(**inputs)`` runs its StableHLO; ``predict_texts`` (text models)
    cleans, tokenizes and runs it. The manifest's digests are checked first: a file of another export is one line."""

    def __init__(self, files: Mapping[str, bytes], source: str):
        if MANIFEST not in files:
            raise InputError(f"{source}: no {MANIFEST}; not a flaxline export")
        try:
            manifest = json.loads(files[MANIFEST])
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{source}/{MANIFEST}: not JSON") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InputError(f"{source}/{MANIFEST}: not a {FORMAT} manifest")
        for name, digest in manifest["files"].items():
            if name not in files:
                raise InputError(f"{source}/{name}: missing; the manifest lists it")
            if sha256(files[name]) != digest:
                raise InputError(f"{source}/{name}: not the file this manifest describes (another export's?)")
        self.manifest, self.source, self._files = manifest, source, files
        self.classes: list[str] = manifest["classes"]
        import jax.export  # the runtime needs JAX, not flaxline's models

        self._exported = jax.export.deserialize(bytearray(files["model.jaxexport"]))

    @classmethod
    def from_folder(cls, folder: str | Path) -> ExportedClassifier:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"{folder}: no such export folder")
        return cls({path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}, str(folder))

    def input_names(self) -> list[str]:
        return [spec["name"] for spec in self.manifest["inputs"]]

    def probabilities(self, **inputs: np.ndarray) -> np.ndarray:
        """Class probabilities [N, C] (the model's temperature applied) of a batch of any size."""
        arrays = [np.asarray(inputs[spec["name"]], spec["dtype"]) for spec in self.manifest["inputs"]]
        _, probabilities = self._exported.call(*arrays)
        return np.asarray(probabilities)

    def logits(self, **inputs: np.ndarray) -> np.ndarray:
        arrays = [np.asarray(inputs[spec["name"]], spec["dtype"]) for spec in self.manifest["inputs"]]
        logits, _ = self._exported.call(*arrays)
        return np.asarray(logits)

    def predict_texts(self, texts: list[str]) -> np.ndarray:
        """Class probabilities of raw texts, cleaned and tokenized as the training run did (an empty text after
        cleaning is scored as the empty sequence's [PAD]-only input would be: check ``clean_text`` first)."""
        from tokenizers import Tokenizer

        from flaxline.text.cleaning import CleaningPolicy, clean_text
        from flaxline.text.tokenizer import encode

        if "tokenizer.json" not in self._files:
            raise InputError(f"{self.source}: not a text model (no tokenizer.json)")
        policy = CleaningPolicy.model_validate(self.manifest["cleaning"])
        tokenizer = Tokenizer.from_str(self._files["tokenizer.json"].decode("utf-8"))
        ids, lengths = encode(tokenizer, [clean_text(text, policy).text for text in texts], self.manifest["max_length"])
        return self.probabilities(ids=ids, lengths=lengths)

    def onnx_session(self) -> Any:
        """An onnxruntime session of ``model.onnx``; its outputs are (logits, probabilities)."""
        if "model.onnx" not in self._files:
            raise InputError(f"{self.source}: no model.onnx ({self.manifest.get('onnx_error', 'not exported')})")
        import onnxruntime

        return onnxruntime.InferenceSession(self._files["model.onnx"], providers=["CPUExecutionProvider"])
