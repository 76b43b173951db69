"""Nodes of batch inference."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator

import pandas as pd
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.data.versions import SavedVersions
from flaxline.models.serialization import ModelArtifact
from flaxline.pipelines.saved_model import SavedArtifact, TrainedOn
from flaxline.pipelines.text_processing.nodes import TextProcessingParams
from flaxline.serving.scoring import TextScorer
from flaxline.serving.service import ServiceSpec

logger = logging.getLogger(__name__)


class InferenceParams(Settings):
    """How new rows are scored (the rows come from ``<task>.inference_input``, chunk by chunk)."""

    model: SavedArtifact = Field(
        "model", description="the task's trained model, or one of its compressed versions (<task>.compression)"
    )
    batch_size: PositiveInt = Field(256, description="rows the model scores at once")
    length_multiple: PositiveInt = Field(8, description="batches are cut to their longest text rounded up to this")
    service: ServiceSpec = Field(ServiceSpec(), description="`flaxline serve`: request limits and dynamic batching")


def score_rows(
    inference_input: pd.DataFrame | Iterable[pd.DataFrame],
    model: ModelArtifact,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    data_processing: TextProcessingParams,
    parameters: InferenceParams,
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Each chunk of new rows scored (predicted class and class probabilities) or rejected with its reason, through
    the training's cleaning and the tokenizer and encoding the model was trained on (found among the saved versions);
    chunk by chunk, so that a file larger than memory streams through."""
    saved = TrainedOn(encoding_versions, tokenizer_versions).saved_model(model, "the model")
    scorer = TextScorer(
        model,
        saved.tokenizer,
        saved.encoding,
        data_processing.columns.text,
        data_processing.policy,
        parameters.batch_size,
        parameters.length_multiple,
    )
    chunks = [inference_input] if isinstance(inference_input, pd.DataFrame) else inference_input
    started, scored, rejected = time.perf_counter(), 0, Counter[str]()
    for chunk in chunks:
        predictions, refused = scorer.score(chunk, chunk.attrs.get("source", "inference input"))
        scored += len(predictions)
        rejected.update(refused["reason"])
        yield predictions, refused
    seconds = time.perf_counter() - started
    logger.info(
        "scored %d rows in %.1f s (%.0f rows/s); rejected %d %s",
        scored,
        seconds,
        (scored + rejected.total()) / max(seconds, 1e-9),
        rejected.total(),
        dict(rejected),
    )
