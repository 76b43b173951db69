"""Scoring new rows with a saved model: the raw rows of a text task go through the training's own cleaning and the
training run's tokenizer and encoding (never refitted), then the model, compiled once for every call.

``TextScorer`` serves the batch inference stage (chunk after chunk of a file) and the HTTP service (each dynamic
batch of requests) alike, so both give the same classes and probabilities for the same text.
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pandera.pandas as pa
from flax import nnx
from scipy.special import softmax
from tokenizers import Tokenizer

from flaxline.data.schema import validate
from flaxline.engine.batching import Batching
from flaxline.engine.inference import batched_outputs, make_forward
from flaxline.errors import InputError
from flaxline.inputs import Encoding
from flaxline.models.serialization import ModelArtifact, check_trained_on
from flaxline.text.cleaning import CleaningPolicy
from flaxline.text.rows import scoring_table
from flaxline.text.tokenizer import encode


def batch_sizes(largest: int) -> list[int]:
    """The batch sizes a scorer compiles for: powers of two below ``largest``, and ``largest``; a request of a few
    rows runs a small batch, never one padded to ``largest`` rows."""
    sizes = [1 << power for power in range(largest.bit_length()) if 1 << power < largest]
    return [*sizes, largest]


class TextScorer:
    """Raw rows (a frame with the task's text column) → predictions with class probabilities, and the rows that
    could not be scored with their reason."""

    def __init__(
        self,
        model: ModelArtifact,
        tokenizer: Tokenizer | None,
        encoding: dict,
        text_column: str,
        policy: CleaningPolicy,
        batch_size: int = 256,
        length_multiple: int = 8,
    ):
        check_trained_on(model, encoding)
        described = Encoding.model_validate(encoding)
        if tokenizer is None or described.classes is None or described.max_length is None:
            raise InputError("the encoding is not a text classification task's (no classes or no padded length)")
        self.classes, self.max_length = list(described.classes), described.max_length
        self.tokenizer, self.text_column, self.policy = tokenizer, text_column, policy
        self.temperature = model.config.temperature
        graphdef, self._params, self._rest = jax.device_put(nnx.split(model.model.for_inference(), nnx.Param, ...))
        self._forward = make_forward(graphdef)
        self._batchings = {
            size: Batching(size, described.token_arrays, length_multiple) for size in batch_sizes(batch_size)
        }

    def warm_up(self) -> int:
        """Compile every batch shape a call can meet (each batch size, each width), so that no request waits for a
        compilation; the number of shapes."""
        shapes = 0
        for size, batching in self._batchings.items():
            widths = sorted(
                {*range(batching.length_multiple, self.max_length, batching.length_multiple), self.max_length}
            )
            for width in widths:
                arrays = {"ids": np.zeros((size, self.max_length), np.int32), "lengths": np.full(size, width, np.int32)}
                batched_outputs(self._forward, self._params, self._rest, arrays, batching)
                shapes += 1
        return shapes

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Class probabilities [N, C] (the model's temperature applied) of texts already cleaned."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        ids, lengths = encode(self.tokenizer, texts, self.max_length)
        size = next((size for size in self._batchings if size >= len(texts)), max(self._batchings))
        logits = batched_outputs(
            self._forward, self._params, self._rest, {"ids": ids, "lengths": lengths}, self._batchings[size]
        )
        return softmax(np.asarray(logits, np.float64) / self.temperature, axis=1)

    def score(self, raw: pd.DataFrame, source: str = "rows to score") -> tuple[pd.DataFrame, pd.DataFrame]:
        """The scored rows (their raw columns, ``predicted`` and ``probability_<class>``) and the rejected ones
        (their raw columns, ``reason`` and ``detail``); one line naming ``source`` if the text column is missing or
        holds no text."""
        schema = pa.DataFrameSchema({self.text_column: pa.Column(str, nullable=True, description="text")})
        cleaned = scoring_table(validate(raw, schema, source), self.text_column, self.policy)
        kept = cleaned.kept
        probabilities = self.probabilities(list(kept.pop("clean_text")))
        kept["predicted"] = np.asarray(self.classes, dtype=object)[probabilities.argmax(axis=1)]
        for index, name in enumerate(self.classes):
            kept[f"probability_{name}"] = probabilities[:, index]
        return kept, cleaned.rejected
