"""A saved model with the encoding and tokenizer its training read, found among the saved versions by the digest the
model records: what the stages that take a saved model onwards (fusion, compression, export, inference, the HTTP
service) read new rows through."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from tokenizers import Tokenizer

from flaxline.data.versions import SavedVersions
from flaxline.errors import InputError
from flaxline.inputs import Encoding, TokenInputs, encoding_digest
from flaxline.models.serialization import ModelArtifact
from flaxline.pipelines.image_features.nodes import encode_images
from flaxline.pipelines.text_features.nodes import encode_texts

# The task's trained model, or one of the versioned models `<task>.compression` makes of it.
SavedArtifact = Literal["model", "model_int8", "model_pruned", "model_pruned_structured"]


@dataclass(frozen=True)
class SavedModel:
    """A model and the encoding (and, for text, the tokenizer) it was trained on."""

    artifact: ModelArtifact
    encoding: dict
    encoding_version: str
    tokenizer: Tokenizer | None

    def features(self, rows: pd.DataFrame, classes: list[str]) -> dict[str, np.ndarray]:
        """The model's input arrays (and ``labels``) of a split's rows, as the features stage made them for it."""
        if self.tokenizer is not None:
            return encode_texts(rows, self.tokenizer, self.encoding, classes)
        return encode_images(rows, self.encoding, classes)

    @property
    def described(self) -> Encoding:
        return Encoding.model_validate(self.encoding)


class TrainedOn:
    """Finds the saved encoding (and tokenizer) a model was trained on; each saved encoding is read and hashed once,
    however many models look through it."""

    def __init__(self, encoding_versions: SavedVersions, tokenizer_versions: SavedVersions | None = None):
        self.encodings, self.tokenizers = encoding_versions, tokenizer_versions
        self._encoding = functools.cache(encoding_versions.load)
        self._digest = functools.cache(lambda version: encoding_digest(self._encoding(version)))

    def saved_model(self, model: ModelArtifact, source: str, version: str | None = None) -> SavedModel:
        """``model`` (saved at ``source``, as ``version`` if known) with the newest saved encoding that is the one it
        was trained on (saved no later than the model) and the tokenizer saved with that encoding."""
        where = f"{source}: version '{version}'" if version else source
        if model.config.encoding_digest is None:
            raise InputError(f"{where} does not record the encoding it was trained on: retrain it")
        # Versions are Kedro's timestamps, which sort as text: an encoding saved after the model is not its own.
        for candidate in self.encodings.loaders:
            if (version is None or candidate <= version) and self._digest(candidate) == model.config.encoding_digest:
                encoding = self._encoding(candidate)
                text = isinstance(Encoding.model_validate(encoding).inputs, TokenInputs)
                tokenizer = self.tokenizers.load(candidate) if text and self.tokenizers is not None else None
                return SavedModel(model, encoding, candidate, tokenizer)
        raise InputError(f"{where}: none of the saved encodings ({self.encodings.source}) is the one it was trained on")


def checked_classes(model: ModelArtifact, classes: list[str], where: str) -> ModelArtifact:
    """``model``, unless it predicts other classes than ``classes``: one line naming ``where`` it was read."""
    if model.config.classes is None and model.config.outputs != len(classes):
        raise InputError(f"{where} has {model.config.outputs} outputs; the task has {len(classes)} classes")
    if model.config.classes is not None and list(model.config.classes) != list(classes):
        raise InputError(f"{where} was trained for the classes {list(model.config.classes)}, not {list(classes)}")
    return model
