"""Typed settings: every parameter block is a pydantic model, validated once where it enters.

``Settings`` forbids unknown keys and is immutable; a bad value ends in one ``InputError`` line
that names the key (``loop.epochs: 'three' is not an integer``), never pydantic's multi-line report.
Kedro validates each node's typed parameters with ``model_validate`` before the first node runs;
code builds settings from data the same way (keyword construction raises pydantic's own error).
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from flaxline.errors import InputError, shown


class Settings(BaseModel):
    """A block of settings: unknown keys are refused, values are checked and never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def model_validate(cls, obj: Any, **options: Any):
        try:
            return super().model_validate(obj, **options)
        except ValidationError as error:
            raise InputError(describe(error, cls)) from None


def validated(annotation: Any, data: Any, what: str) -> Any:
    """``data`` validated as ``annotation`` (a union of settings, say); one line starting with ``what`` when it is
    not."""
    try:
        return TypeAdapter(annotation).validate_python(data)
    except ValidationError as error:
        raise InputError(f"{what}: {describe(error, None)}") from None


def describe(error: ValidationError, model: type[BaseModel] | None) -> str:
    """The first problem of ``error`` in one line naming its key; the count of any others."""
    # A misspelt key shows as an unknown one and a missing one: the unknown one says more.
    problems = sorted(error.errors(), key=lambda problem: problem["type"] != "extra_forbidden")
    line = _describe_one(problems[0], model)
    return line + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


def _describe_one(problem: ErrorDetails, model: Any) -> str:
    location, tags = _untagged(model, tuple(problem["loc"]))
    kind, value, context = problem["type"], problem.get("input"), problem.get("ctx") or {}
    where, parent_where = _joined(location), _joined(location[:-1])
    if kind == "extra_forbidden":
        parent = _model_at(model, tuple(problem["loc"])[:-1])
        of = f" of {tags[-1]}" if tags and parent is not None and tags[-1] == _tag(parent) else ""
        known = ", ".join(parent.model_fields) if parent else ""
        return f"{parent_where}unknown setting {location[-1]!r}{of}; known: {known}"
    if kind == "missing":
        return f"{parent_where}missing setting {location[-1]!r}"
    discriminator = str(context.get("discriminator", "name")).strip("'")
    if kind == "union_tag_invalid":
        known = str(context.get("expected_tags", "")).replace("'", "")
        return f"{where}unknown {discriminator} {shown(context.get('tag'))}; known: {known}"
    if kind == "union_tag_not_found":
        return f"{where}missing setting {discriminator!r}"
    if kind == "literal_error":
        expected = ", ".join(str(choice) for choice in _literal_choices(model, tuple(problem["loc"])))
        return f"{where}{shown(value)} is not one of {expected or context.get('expected')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{where}must be a mapping of settings, not {shown(value)}"
    message = str(context["error"]) if kind == "value_error" else problem["msg"][0].lower() + problem["msg"][1:]
    scalar = value is None or isinstance(value, str | int | float | bool)
    return f"{where}{message}" + (f", not {shown(value)}" if scalar and "not " not in message else "")


def is_choice(annotation: Any) -> bool:
    """Whether a field holds one of several settings classes told apart by their ``name`` (a tagged union)."""
    return _is_union(annotation) and len([member for member in _members(annotation) if _tag(member) is not None]) > 1


def _joined(location: tuple) -> str:
    return ".".join(map(str, location)) + ": " if location else ""


def _untagged(model: Any, location: tuple) -> tuple[tuple, list]:
    """``location`` without the tags of tagged unions (``model.lstm.pooling`` → ``model.pooling``), and those tags."""
    kept, tags, current = [], [], model
    for part in location:
        if _is_union(current):
            tags.append(part)
            current = next((member for member in _members(current) if _tag(member) == part), None)
            continue
        kept.append(part)
        fields = current.model_fields if isinstance(current, type) and issubclass(current, BaseModel) else {}
        current = _settings_class(fields[str(part)].annotation) if str(part) in fields else None
    return tuple(kept), tags


def _model_at(model: Any, location: tuple) -> type[BaseModel] | None:
    """The settings class found by following ``location`` from ``model`` (a tagged union's tag picks its member)."""
    current: Any = model
    for part in location:
        if _is_union(current):
            current = next((member for member in _members(current) if _tag(member) == part), None)
        elif isinstance(current, type) and issubclass(current, BaseModel) and str(part) in current.model_fields:
            current = _settings_class(current.model_fields[str(part)].annotation)
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _settings_class(annotation: Any) -> Any:
    """The settings class or tagged union of them that a field holds (through Optional), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if _is_union(annotation):
        members = _members(annotation)
        return annotation if len(members) > 1 else (members[0] if members else None)
    return None


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (typing.Union, types.UnionType) or (
        get_origin(annotation) is typing.Annotated and _is_union(get_args(annotation)[0])
    )


def _members(annotation: Any) -> list[type[BaseModel]]:
    if get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return [member for member in get_args(annotation) if isinstance(member, type) and issubclass(member, BaseModel)]


def _tag(member: type[BaseModel]) -> Any:
    field = member.model_fields.get("name")
    choices = get_args(field.annotation) if field is not None and get_origin(field.annotation) is Literal else ()
    return choices[0] if choices else None


def _literal_choices(model: Any, location: tuple) -> tuple:
    parent = _model_at(model, location[:-1])
    field = parent.model_fields.get(str(location[-1])) if parent and location else None
    if field is None:
        return ()
    annotation = field.annotation
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is Literal:
            return get_args(candidate)
    return ()
