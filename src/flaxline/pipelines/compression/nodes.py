"""Nodes of compression."""

from __future__ import annotations

import logging
import time
from typing import Literal

import jax
import numpy as np
import pandas as pd
from flax import nnx
from matplotlib.figure import Figure
from pydantic import Field, PositiveInt

from flaxline.compression.pruning import PruningSpec, StructuredPruningSpec, fine_tune, structured, unstructured
from flaxline.compression.quantization import QuantizationSpec, quantized
from flaxline.config import Settings
from flaxline.data.versions import SavedVersions
from flaxline.engine.batching import Batching
from flaxline.engine.inference import batched_outputs, examples_per_second, make_forward
from flaxline.engine.loop import TrainingData
from flaxline.evaluation.figures import compression_figure
from flaxline.evaluation.metrics import classification_metrics
from flaxline.models.serialization import ModelArtifact, model_to_bytes
from flaxline.pipelines.saved_model import SavedModel, TrainedOn, checked_classes

logger = logging.getLogger(__name__)

Method = Literal["int8", "pruned", "pruned_structured"]


class CompressionParams(Settings):
    """Which compressed models to make from the task's saved model, how, and how the report measures them."""

    methods: tuple[Method, ...] = Field(
        ("int8", "pruned", "pruned_structured"), description="the compressed models to make, each a versioned model"
    )
    quantization: QuantizationSpec = QuantizationSpec()
    pruning: PruningSpec = PruningSpec()
    structured_pruning: StructuredPruningSpec = StructuredPruningSpec()
    latency_rows: PositiveInt = Field(200, description="test rows scored one at a time for latency_ms_batch1")
    length_multiple: PositiveInt = Field(
        8, description="the report's batches are cut to their longest text rounded up to this (few compiled shapes)"
    )
    throughput_seconds: float = Field(3.0, ge=0.0, description="each model's batch-64 throughput timed this long")


def saved_model(
    model: ModelArtifact,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    classes: list[str],
) -> SavedModel:
    return TrainedOn(encoding_versions, tokenizer_versions).saved_model(
        checked_classes(model, classes, "the model"), "the model"
    )


def quantize(model: ModelArtifact, parameters: CompressionParams) -> ModelArtifact:
    """The model with int8 weights (qwix) and embedding rows, as ``compression.quantization`` says."""
    spec = parameters.quantization
    rules = "; ".join(
        f"{rule.module_path}: weights {rule.weights}, activations {rule.activations}" for rule in spec.rules
    )
    config = model.config.model_copy(
        update={"quantization": spec, "compression": f"int8 ({rules}; embeddings {spec.embeddings})"}
    )
    return ModelArtifact(quantized(model.model, spec, model.config.inputs), config)


def prune(
    model: ModelArtifact,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    train_rows: pd.DataFrame,
    validation_rows: pd.DataFrame,
    classes: list[str],
    parameters: CompressionParams,
) -> ModelArtifact:
    """The model with ``pruning.sparsity`` of each weight matrix's entries zero, reached gradually while it is
    fine-tuned (``flaxline.compression.pruning``)."""
    saved = saved_model(model, encoding_versions, tokenizer_versions, classes)
    pruned = nnx.clone(model.model)
    history = unstructured(
        pruned, model.config, parameters.pruning, _training_data(saved, train_rows, validation_rows, classes)
    )
    sparsity = parameters.pruning.sparsity
    config = model.config.model_copy(
        update={"compression": f"pruned: {sparsity:.0%} of each weight matrix, fine-tuned {len(history)} epoch(s)"}
    )
    return ModelArtifact(pruned, config)


def prune_structure(
    model: ModelArtifact,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    train_rows: pd.DataFrame,
    validation_rows: pd.DataFrame,
    classes: list[str],
    parameters: CompressionParams,
) -> ModelArtifact:
    """A narrower model: ``structured_pruning.fraction`` of its units removed, then fine-tuned."""
    saved = saved_model(model, encoding_versions, tokenizer_versions, classes)
    spec = parameters.structured_pruning
    pruned, config = structured(model.model, model.config, spec.fraction)
    history = fine_tune(pruned, config, spec.fine_tune, _training_data(saved, train_rows, validation_rows, classes))
    words = f"pruned: {spec.fraction:.0%} of the units removed, fine-tuned {len(history)} epoch(s)"
    return ModelArtifact(pruned, config.model_copy(update={"compression": words}))


def _training_data(
    saved: SavedModel, train_rows: pd.DataFrame, validation_rows: pd.DataFrame, classes: list[str]
) -> TrainingData:
    return TrainingData(
        saved.features(train_rows, classes), saved.features(validation_rows, classes), saved.described.token_arrays
    )


def compression_report(
    model: ModelArtifact,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    test_rows: pd.DataFrame,
    classes: list[str],
    parameters: CompressionParams,
    *compressed: ModelArtifact,
) -> tuple[pd.DataFrame, Figure]:
    """The model and each compressed one on the test split, measured one after the other in this process: bytes of
    the saved file, nonzero parameters, accuracy, macro-F1, latency of one row, throughput in batches of 64."""
    saved = saved_model(model, encoding_versions, tokenizer_versions, classes)
    features = saved.features(test_rows, classes)
    token_arrays, multiple = saved.described.token_arrays, parameters.length_multiple
    rows = []
    for name, artifact in zip(("original", *parameters.methods), (model, *compressed), strict=True):
        forward, params, rest = _compiled(artifact)
        logits = batched_outputs(forward, params, rest, features, Batching(64, token_arrays, multiple))
        metrics = classification_metrics(features["labels"], np.asarray(logits).argmax(axis=1), list(classes))
        rows.append(
            {
                "model": name,
                "bytes": len(model_to_bytes(artifact.model, artifact.config)),
                "nonzero_parameters": sum(
                    int(np.count_nonzero(leaf)) for leaf in jax.tree.leaves(nnx.state(artifact.model, nnx.Param))
                ),
                "accuracy": metrics["accuracy"],
                "macro_f1": metrics["macro_f1"],
                "latency_ms_batch1": _latency_ms(artifact, features, Batching(1, token_arrays, multiple), parameters),
                "examples_per_s_batch64": examples_per_second(
                    artifact.model, features, Batching(64, token_arrays, multiple), parameters.throughput_seconds
                ),
                "description": artifact.config.compression or "as trained",
            }
        )
    table = pd.DataFrame(rows)
    logger.info("compression:\n%s", table.drop(columns="description").to_string(index=False))
    return table, compression_figure(table)


def _compiled(artifact: ModelArtifact) -> tuple:
    graphdef, params, rest = jax.device_put(nnx.split(artifact.model.for_inference(), nnx.Param, ...))
    return make_forward(graphdef), params, rest


def _latency_ms(
    artifact: ModelArtifact, features: dict[str, np.ndarray], batching: Batching, parameters: CompressionParams
) -> float:
    """The median time of scoring one row alone, over the first ``latency_rows`` test rows (each shape compiled
    first)."""
    forward, params, rest = _compiled(artifact)
    first = {name: array[: parameters.latency_rows] for name, array in features.items()}
    batches = list(batching.batches(first, [np.array([index]) for index in range(len(first["labels"]))]))
    for batch in batches:
        jax.block_until_ready(forward(params, rest, batch))
    times = []
    for batch in batches:
        started = time.perf_counter()
        jax.block_until_ready(forward(params, rest, batch))
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)
