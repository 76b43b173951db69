"""Nodes of the fusion stage."""

from __future__ import annotations

import logging

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
from flaxline.evaluation.figures import intervals_figure
from flaxline.evaluation.fusion import Combine, fused_probabilities
from flaxline.evaluation.metrics import comparison_table, predictions_frame
from flaxline.evaluation.uncertainty import paired_comparison, pairwise_table, reported_metrics
from flaxline.pipelines.evaluation.nodes import EvaluationParams
from flaxline.pipelines.saved_model import TrainedOn, checked_classes

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
    members = {
        version: checked_classes(model_versions.load(version), classes, f"{model_versions.source}: version '{version}'")
        for version in versions
    }
    trained_on = TrainedOn(encoding_versions, tokenizer_versions)
    saved = {
        version: trained_on.saved_model(model, model_versions.source, version) for version, model in members.items()
    }
    placement = resolve_placement("auto", evaluation.compute_dtype, False)
    logits = {}
    for version, model in saved.items():
        batching = Batching(evaluation.batch_size, model.described.token_arrays, evaluation.length_multiple)
        name = f"{model.artifact.config.model.name} {version}"
        features = model.features(test_rows, classes)
        logits[name] = {
            "logits": np.asarray(
                predict(model.artifact.model, features, batching, placement.compute_dtype), np.float64
            ),
            "temperature": model.artifact.config.temperature,
            "version": version,
        }
        logger.info("fusion member %s: encoding and tokenizer version %s", name, model.encoding_version)
    return logits


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
