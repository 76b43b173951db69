"""Nodes of export."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.special import softmax

from flaxline.config import Settings
from flaxline.data.versions import SavedVersions
from flaxline.engine.batching import Batching
from flaxline.engine.inference import predict
from flaxline.models.serialization import ModelArtifact
from flaxline.pipelines.saved_model import SavedArtifact, TrainedOn, checked_classes
from flaxline.pipelines.text_processing.nodes import TextProcessingParams
from flaxline.serving.export import exported_files
from flaxline.serving.exported import ExportedClassifier
from flaxline.text.cleaning import DEFAULT_POLICY, CleaningPolicy

logger = logging.getLogger(__name__)


class ExportParams(Settings):
    """Which saved model to export, and in which formats (docs/deployment.md)."""

    model: SavedArtifact = Field(
        "model", description="the task's trained model, or one of its compressed versions (<task>.compression)"
    )
    onnx: bool = Field(True, description="also ONNX, where jax2onnx converts the model")


def export_model(
    model: ModelArtifact,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    test_rows: pd.DataFrame,
    classes: list[str],
    parameters: ExportParams,
    policy: CleaningPolicy = DEFAULT_POLICY,
) -> tuple[dict[str, bytes], dict]:
    """The export folder's files (``flaxline.serving.export``) and a report of it: each file's size and how far the
    exported StableHLO and ONNX probabilities lie from the model's own on the test split."""
    checked = checked_classes(model, classes, "the model")
    saved = TrainedOn(encoding_versions, tokenizer_versions).saved_model(checked, "the model")
    files = exported_files(model, saved.encoding, saved.tokenizer, policy, parameters.onnx)
    exported = ExportedClassifier(files, "the export")
    features = saved.features(test_rows, classes)
    inputs = {name: features[name] for name in exported.input_names()}
    logits = np.asarray(predict(model.model, features, Batching(256, saved.described.token_arrays)), np.float64)
    reference = softmax(logits / model.config.temperature, axis=1)
    report = {
        "model": model.config.model.name,
        "compression": model.config.compression,
        "encoding_version": saved.encoding_version,
        "bytes": {name: len(data) for name, data in files.items()},
        "test_rows": len(test_rows),
        "stablehlo_max_difference": float(np.abs(exported.probabilities(**inputs) - reference).max()),
        "onnx_error": exported.manifest["onnx_error"],
    }
    if "model.onnx" in files:
        _, probabilities = exported.onnx_session().run(None, inputs)
        report["onnx_max_difference"] = float(np.abs(probabilities - reference).max())
    logger.info("export: %s", {key: value for key, value in report.items() if "difference" in key or key == "bytes"})
    return files, report


def export_text_model(
    model: ModelArtifact,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    test_rows: pd.DataFrame,
    classes: list[str],
    parameters: ExportParams,
    data_processing: TextProcessingParams,
) -> tuple[dict[str, bytes], dict]:
    """``export_model`` of a text model, whose export cleans texts as the task's data processing does."""
    return export_model(
        model, encoding_versions, tokenizer_versions, test_rows, classes, parameters, data_processing.policy
    )
