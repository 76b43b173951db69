"""Task kinds: each is its list of stages and the parameters it sets over the settings' own defaults.

A task declares its kind and what differs from it (``conf/base/parameters_<task>.yml``)::

    tasks:
      news:
        kind: text_classification
        classes: [World, Sports, Business, Sci/Tech]

``TaskConfigLoader`` gives each declared task its parameters: the kind's defaults, then the
task's own settings, then any top-level block of the task's name (``--params
news.training.loop.epochs=3``), merged key by key. A mapping that names another choice
(``model: {name: cnn}`` over a default ``lstm``) replaces the default's settings instead of
merging with them. Everything not set anywhere takes the default of its settings class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kedro.pipeline import Pipeline

from flaxline.errors import InputError
from flaxline.pipelines import (
    evaluation,
    image_evaluation,
    image_features,
    image_processing,
    split,
    text_features,
    text_processing,
    training,
)

# Keys of a task's declaration that are about the task, not parameter blocks of its stages.
DECLARATION_KEYS = ("kind", "default")


@dataclass(frozen=True)
class Kind:
    """A kind of task: its stages in order (name → pipeline factory) and its parameter defaults per block."""

    stages: dict[str, Callable[[], Pipeline]]
    defaults: dict[str, Any] = field(default_factory=dict)


KINDS: dict[str, Kind] = {
    "text_classification": Kind(
        stages={
            "data_processing": text_processing.create_pipeline,
            "split": split.create_pipeline,
            "features": text_features.create_pipeline,
            "training": training.create_pipeline,
            "evaluation": evaluation.create_pipeline,
        },
        defaults={
            "training": {"model": {"name": "lstm"}},
            "evaluation": {"baseline": {"name": "tfidf_logistic_regression"}},
        },
    ),
    "image_classification": Kind(
        stages={
            "data_processing": image_processing.create_pipeline,
            "split": split.create_pipeline,
            "features": image_features.create_pipeline,
            "training": training.create_pipeline,
            "evaluation": image_evaluation.create_pipeline,
        },
        defaults={
            "training": {"model": {"name": "cnn2d"}},
            "evaluation": {"baseline": {"name": "pixel_logistic_regression"}},
        },
    ),
}


def merged(base: Any, override: Any) -> Any:
    """``override`` over ``base``, key by key; a mapping whose ``name`` differs from the base's replaces it."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    if "name" in override and override["name"] != base.get("name"):
        return override
    return {**base, **{key: merged(base[key], value) if key in base else value for key, value in override.items()}}


def task_parameters(name: str, declaration: Any, overrides: Any) -> dict[str, Any]:
    """The parameters of the task ``name``: its kind's defaults, its ``declaration``, then the ``overrides`` block."""
    if not isinstance(declaration, dict):
        raise InputError(f"task '{name}': its declaration must be a mapping with a kind, not {declaration!r}")
    kind = declaration.get("kind")
    if kind not in KINDS:
        raise InputError(f"task '{name}': unknown kind {kind!r}; known: {', '.join(KINDS)}")
    own = {key: value for key, value in declaration.items() if key not in DECLARATION_KEYS}
    parameters = merged(merged(KINDS[kind].defaults, own), overrides or {})
    classes = parameters.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or len({str(c) for c in classes}) != len(classes):
        raise InputError(f"task '{name}': classes must be a list of at least two different labels, not {classes!r}")
    unknown = sorted(set(parameters) - {"classes", *KINDS[kind].stages})
    if unknown:
        raise InputError(
            f"task '{name}': unknown block {unknown[0]!r}; "
            f"a {kind} task has {', '.join(['classes', *KINDS[kind].stages])}"
        )
    # Every stage gets its block, so that its settings' defaults fill what the task leaves out.
    blocks = {stage: parameters.get(stage) or {} for stage in KINDS[kind].stages}
    # Labels are read as text: `classes: [0, 1]` means the labels "0" and "1".
    return blocks | {"classes": [str(c) for c in classes]}


def expand_tasks(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` with each task's block (``parameters[task]``) made whole from its declaration under ``tasks``."""
    tasks = parameters.get("tasks") or {}
    return parameters | {
        name: task_parameters(name, declaration, parameters.get(name)) for name, declaration in tasks.items()
    }
