"""Nodes of the fusion stage."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import Field, field_validator

from flaxline.config import Settings
from flaxline.data.labels import label_indices
from flaxline.data.versions import SavedVersions
from flaxline.engine.batching import Batching
from flaxline.engine.devices import resolve_placement
from flaxline.engine.inference import predict
from flaxline.errors import InputError
from flaxline.evaluation.figures import intervals_figure
from flaxline.evaluation.fusion import Combine, fused_probabilities
from flaxline.evaluation.metrics import comparison_table, predictions_frame
from flaxline.evaluation.uncertainty import paired_comparison, pairwise_table, reported_metrics
from flaxline.inputs import Encoding, TokenInputs, encoding_digest
from flaxline.models.serialization import ModelArtifact
from flaxline.pipelines.evaluation.nodes import EvaluationParams
from flaxline.pipelines.image_features.nodes import encode_images
from flaxline.pipelines.text_features.nodes import encode_texts

logger = logging.getLogger(__name__)


class FusionParams(Settings):
    """Which saved model versions of the task to fuse, and how (docs/evaluation.md)."""

    versions: list[str] = Field(
        default_factory=list, description="model versions as `kedro run` saved them; none: the `newest` ones"
    )
    newest: int = Field(2, ge=2, description="with no `versions`: how many of the newest model versions")
    combine: Combine = Field("probabilities", description="average the members' probabilities, or their logits")

    @field_validator("versions")
    @classmethod
    def _two_distinct(cls, versions: list[str]) -> list[str]:
        if versions and (len(versions) < 2 or len(set(versions)) != len(versions)):
            raise ValueError(f"at least two different versions, not {versions}")
        return versions


def fuse_models(
    model_versions: SavedVersions,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    test_rows: pd.DataFrame,
    classes: list[str],
    fusion: FusionParams,
    evaluation: EvaluationParams,
) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure]:
    """The chosen saved model versions fused and evaluated on the test split (docs/evaluation.md): the fused
    model's report with its intervals and its gain over each member (paired bootstrap, McNemar); its predictions;
    the table of members and fusion; every two of them compared; the intervals drawn."""
    logits = member_logits(
        model_versions, encoding_versions, tokenizer_versions, test_rows, classes, fusion, evaluation
    )
    return _evaluated(logits, test_rows, classes, fusion, evaluation)


def member_logits(
    model_versions: SavedVersions,
    encoding_versions: SavedVersions,
    tokenizer_versions: SavedVersions,
    test_rows: pd.DataFrame,
    classes: list[str],
    fusion: FusionParams,
    evaluation: EvaluationParams,
) -> dict[str, dict]:
    """Each chosen model version's test logits, computed from the test rows with its own encoding and tokenizer
    (the versions its training read), with its temperature. A version that is missing, of another task or for
    other classes stops the stage before any is run."""
    versions = fusion.versions or model_versions.newest(fusion.newest)
    members = {version: _checked(model_versions, version, classes) for version in versions}
    # Each saved encoding is read and hashed once, however many members look through it.
    encoding_of = functools.cache(encoding_versions.load)
    digest_of = functools.cache(lambda candidate: encoding_digest(encoding_of(candidate)))
    encodings = {
        version: _own_encoding(encoding_versions, encoding_of, digest_of, model, version, model_versions.source)
        for version, model in members.items()
    }
    placement = resolve_placement("auto", evaluation.compute_dtype, False)
    logits = {}
    for version, model in members.items():
        encoding_version, encoding = encodings[version]
        described = Encoding.model_validate(encoding)
        if isinstance(described.inputs, TokenInputs):
            features = encode_texts(test_rows, tokenizer_versions.load(encoding_version), encoding, classes)
        else:
            features = encode_images(test_rows, encoding, classes)
        batching = Batching(evaluation.batch_size, described.token_arrays, evaluation.length_multiple)
        name = f"{model.config.model.name} {version}"
        logits[name] = {
            "logits": np.asarray(predict(model.model, features, batching, placement.compute_dtype), np.float64),
            "temperature": model.config.temperature,
            "version": version,
        }
        logger.info("fusion member %s: encoding and tokenizer version %s", name, encoding_version)
    return logits


def _checked(model_versions: SavedVersions, version: str, classes: list[str]) -> ModelArtifact:
    model = model_versions.load(version)
    where = f"{model_versions.source}: version '{version}'"
    if model.config.classes is None and model.config.outputs != len(classes):
        raise InputError(f"{where} has {model.config.outputs} outputs; the task has {len(classes)} classes")
    if model.config.classes is not None and list(model.config.classes) != list(classes):
        raise InputError(f"{where} was trained for the classes {list(model.config.classes)}, not {list(classes)}")
    return model


def _own_encoding(
    encoding_versions: SavedVersions,
    encoding_of: Callable[[str], dict],
    digest_of: Callable[[str], str],
    model: ModelArtifact,
    version: str,
    source: str,
) -> tuple[str, dict]:
    """The newest encoding version that is the one the model was trained on, and that encoding."""
    if model.config.encoding_digest is None:
        raise InputError(f"{source}: version '{version}' does not record the encoding it was trained on: retrain it")
    # Versions are Kedro's timestamps, which sort as text: an encoding saved after the model is not its own.
    for candidate in encoding_versions.loaders:
        if candidate <= version and digest_of(candidate) == model.config.encoding_digest:
            return candidate, encoding_of(candidate)
    raise InputError(
        f"{source}: version '{version}': none of the saved encodings ({encoding_versions.source}) is the one it was "
        "trained on"
    )


def _evaluated(
    logits: dict[str, dict],
    test_rows: pd.DataFrame,
    classes: list[str],
    fusion: FusionParams,
    evaluation: EvaluationParams,
) -> tuple[dict, pd.DataFrame, pd.DataFrame, pd.DataFrame, Figure]:
    labels, classes = label_indices(test_rows, classes), list(classes)
    members = list(logits.values())
    probabilities = fused_probabilities(
        [member["logits"] for member in members], [member["temperature"] for member in members], fusion.combine
    )
    fused_name = f"fusion of {len(members)} ({fusion.combine})"
    predicted = {fused_name: probabilities.argmax(axis=1)}
    predicted |= {name: member["logits"].argmax(axis=1) for name, member in logits.items()}
    by_model = {
        name: reported_metrics(labels, guess, classes, evaluation.uncertainty) for name, guess in predicted.items()
    }
    gains = {
        name: paired_comparison(labels, predicted[fused_name], predicted[name], classes, evaluation.uncertainty)
        for name in logits
    }
    metrics = by_model[fused_name] | {
        "combine": fusion.combine,
        "members": {name: member["version"] for name, member in logits.items()},
        "gain_over_members": gains,
    }
    for name, gain in gains.items():
        accuracy = gain["difference"]["accuracy"]
        logger.info(
            "fusion − %s accuracy %+.4f [%.4f, %.4f], bootstrap p %.3g",
            name,
            accuracy["estimate"],
            *accuracy["interval"],
            accuracy["p_value"],
        )
    return (
        metrics,
        predictions_frame(test_rows, labels, probabilities, classes),
        comparison_table(by_model, gains),
        pairwise_table(labels, predicted, classes, evaluation.uncertainty),
        intervals_figure(by_model),
    )
