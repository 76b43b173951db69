"""Task kinds: each is its list of stages and the parameters it sets over the settings' own defaults.

A task declares its kind and what differs from it (``conf/base/parameters_<task>.yml``)::

    tasks:
      news:
        kind: text_classification
        classes: [World, Sports, Business, Sci/Tech]

``TaskConfigLoader`` gives each declared task its parameters: the kind's defaults, then what each
source of configuration says of the task (``conf/base``, then the run's environment, then
``--params``), each as its ``tasks.<task>`` declaration and its top-level ``<task>`` block, merged
key by key. A choice that names another option (``model: {name: cnn}`` over a default ``lstm``)
replaces the settings of the one it replaces instead of merging with them. Everything set nowhere
takes the default of its settings class.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from typing import Any, Literal, get_args

from kedro.pipeline import Pipeline
from pydantic import BaseModel, Field

from flaxline.config import Settings, is_choice, validated
from flaxline.errors import InputError
from flaxline.pipelines import (
    compression,
    cross_validation,
    distillation,
    evaluation,
    explanation,
    export,
    fusion,
    image_evaluation,
    image_features,
    image_processing,
    inference,
    rating_evaluation,
    rating_features,
    rating_processing,
    rating_split,
    split,
    text_features,
    text_processing,
    training,
)
from flaxline.pipelines.cross_validation.nodes import CrossValidationParams


@dataclass(frozen=True, eq=False)
class Kind:
    """A kind of task: its stages in order (name → pipeline factory), the pipelines registered beside them but part
    of no other (``separate``: they read saved models), and its parameter defaults per block."""

    stages: dict[str, Callable[[], Pipeline]]
    defaults: dict[str, Any] = field(default_factory=dict)
    classified: bool = True  # its tasks declare classes
    cross_validated: tuple[str, ...] = ()  # the stages every fold of `<task>.cross_validation` runs
    separate_stages: dict[str, Callable[..., Pipeline]] = field(default_factory=dict)

    def separate(self, parameters: dict[str, Any], task: str = "<task>") -> dict[str, Pipeline]:
        """The pipelines registered as ``<task>.<name>`` but part of no other, built for the task's parameter blocks
        (``parameters``; ``task`` names them in errors): ``cross_validation`` (for the kinds that have it) trains
        once per fold; the ``separate_stages`` (fusion, distillation, compression, export, inference) read saved
        model versions."""
        found = {}
        if self.cross_validated:
            block = parameters.get("cross_validation") or {}
            folds = validated(CrossValidationParams, block, f"parameters '{task}.cross_validation'").folds
            found["cross_validation"] = self.cross_validation(folds)
        return found | {name: create(parameters=parameters, task=task) for name, create in self.separate_stages.items()}

    def cross_validation(self, folds: int) -> Pipeline:
        """``<task>.cross_validation``: the ``cross_validated`` stages on each of ``folds`` folds."""
        return cross_validation.create_pipeline(folds, {name: self.stages[name] for name in self.cross_validated})

    @cached_property
    def blocks(self) -> dict[str, type[BaseModel]]:
        """The settings class of each parameter block its stages (and cross-validation) read (``params:<block>``), in
        stage order."""
        found: dict[str, type[BaseModel]] = {}
        pipelines = [create() for create in self.stages.values()] + list(self.separate({}).values())
        for stage in pipelines:
            for node in stage.nodes:
                hints = typing.get_type_hints(node.func)
                for dataset, argument in zip(node.inputs, inspect.signature(node.func).parameters, strict=False):
                    hint = hints.get(argument)
                    if dataset.startswith("params:") and isinstance(hint, type) and issubclass(hint, BaseModel):
                        found[dataset.removeprefix("params:")] = hint
        return found


KINDS: dict[str, Kind] = {
    "text_classification": Kind(
        stages={
            "data_processing": text_processing.create_pipeline,
            "split": split.create_pipeline,
            "features": text_features.create_pipeline,
            "training": training.create_pipeline,
            "evaluation": evaluation.create_pipeline,
            "explanation": explanation.create_pipeline,
        },
        cross_validated=("features", "training", "evaluation"),
        separate_stages={
            "fusion": fusion.create_pipeline,
            "distillation": distillation.create_pipeline,
            "compression": compression.create_pipeline,
            "export": export.create_pipeline,
            "inference": inference.create_pipeline,
        },
        defaults={
            "training": {"model": {"name": "lstm"}},
            "evaluation": {"baseline": {"name": "tfidf_logistic_regression"}},
            # `<task>.distillation`'s student: the features and training stages' settings, for another model.
            "student_training": {
                "model": {"name": "bilstm_attention"},
                "loss": {"name": "distillation"},
                "optimizer": {"learning_rate": 0.001, "clip_global_norm": 1.0},
                "loop": {"epochs": 4, "batch_size": 64},
            },
        },
    ),
    "image_classification": Kind(
        stages={
            "data_processing": image_processing.create_pipeline,
            "split": split.create_pipeline,
            "features": image_features.create_pipeline,
            "training": training.create_pipeline,
            "evaluation": image_evaluation.create_pipeline,
            "explanation": partial(explanation.create_pipeline, "images"),
        },
        cross_validated=("features", "training", "evaluation"),
        separate_stages={
            "fusion": fusion.create_pipeline,
            "compression": compression.create_pipeline,
            "export": partial(export.create_pipeline, "images"),
        },
        defaults={
            "training": {"model": {"name": "cnn2d"}},
            "evaluation": {"baseline": {"name": "pixel_logistic_regression"}},
            # ReLU networks over pixels bend more along the path than embeddings do: a finer integral.
            "explanation": {"steps": 256},
        },
    ),
    "rating_prediction": Kind(
        stages={
            "data_processing": rating_processing.create_pipeline,
            "split": rating_split.create_pipeline,
            "features": rating_features.create_pipeline,
            "training": training.create_pipeline,
            "evaluation": rating_evaluation.create_pipeline,
        },
        defaults={"training": {"model": {"name": "biased_mf"}, "loss": {"name": "mean_squared_error"}}},
        classified=False,
    ),
}


class TaskHeader(Settings):
    """What a task declares about itself beside its parameter blocks."""

    kind: Literal[tuple(KINDS)]  # type: ignore[valid-type]
    default: bool = Field(False, description="true: part of a plain `kedro run`")
    classes: list[str] | None = Field(
        None, min_length=2, description="the label values, in the order of the model's outputs (classification kinds)"
    )


@cache
def choices() -> frozenset[str]:
    """Keys whose settings are one of several named options (``model``, ``baseline``, ``member``)."""
    found: set[str] = set()
    pending = [model for kind in KINDS.values() for model in kind.blocks.values()]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, described in model.model_fields.items():
            found |= {name} if is_choice(described.annotation) else set()
            pending += [member for member in _settings_in(described.annotation)]
    return frozenset(found)


def _settings_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [member for argument in get_args(annotation) for member in _settings_in(argument)]


def merged(base: Any, override: Any, key: str | None = None) -> Any:
    """``override`` over ``base``, key by key; at a choice key, an override naming another option replaces the base."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    if key in choices() and "name" in override and override["name"] != base.get("name"):
        return override
    return {**base, **{k: merged(base[k], value, k) if k in base else value for k, value in override.items()}}


def declaration(name: str, sources: list[dict[str, Any]]) -> dict[str, Any]:
    """The task ``name`` as all ``sources`` (base, environment, runtime parameters) declare it, in that order."""
    declared: dict[str, Any] = {}
    for source in sources:
        for part in ((source.get("tasks") or {}).get(name), source.get(name)):
            if part is not None and not isinstance(part, dict):
                raise InputError(f"task '{name}': its declaration must be a mapping with a kind, not {part!r}")
            declared = merged(declared, part or {})
    return declared


def task_parameters(name: str, declared: dict[str, Any]) -> dict[str, Any]:
    """The parameter blocks of the task ``name``: its kind's defaults, then what it declares."""
    # Labels are read as text: `classes: [0, 1]` means the labels "0" and "1".
    header_fields = {key: declared[key] for key in TaskHeader.model_fields if key in declared}
    if isinstance(header_fields.get("classes"), list):
        header_fields["classes"] = [str(label) for label in header_fields["classes"]]
    try:
        header = TaskHeader.model_validate(header_fields)
    except InputError as error:
        raise InputError(f"task '{name}': {error}") from None
    kind = KINDS[header.kind]
    if kind.classified != (header.classes is not None):
        problem = "missing setting 'classes'" if kind.classified else f"a task of kind {header.kind} has no classes"
        raise InputError(f"task '{name}': {problem}")
    if header.classes is not None and len(set(header.classes)) != len(header.classes):
        raise InputError(f"task '{name}': classes: the labels must differ, not {header.classes}")
    unknown = sorted(set(declared) - set(TaskHeader.model_fields) - set(kind.blocks))
    if unknown:
        known = ", ".join([*TaskHeader.model_fields, *kind.blocks])
        raise InputError(f"task '{name}': unknown block {unknown[0]!r}; a task of kind {header.kind} has {known}")
    parameters = merged(kind.defaults, {block: declared[block] for block in kind.blocks if block in declared})
    # Every block gets its mapping, so that its settings' defaults fill what the task leaves out.
    blocks = {block: parameters.get(block) or {} for block in kind.blocks}
    return blocks | ({"classes": header.classes} if header.classes is not None else {})


def expand_tasks(parameters: dict[str, Any], sources: list[dict[str, Any]]) -> dict[str, Any]:
    """``parameters`` with each declared task's block (``parameters[task]``) made whole from ``sources``."""
    names = dict.fromkeys(name for source in sources for name in (source.get("tasks") or {}))
    return parameters | {name: task_parameters(name, declaration(name, sources)) for name in names}
