"""The parameter reference (docs/parameters.md), written from the settings classes themselves.

    uv run python -m flaxline.reference > docs/parameters.md

Every block a task's stages read, each setting with its choices, default and description, and
what each kind sets over those defaults; a test checks that the committed file is up to date.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python

from flaxline.kinds import KINDS

HEADER = """# Parameters

Written by `uv run python -m flaxline.reference > docs/parameters.md` from the settings classes, which
hold every default. A task sets only what differs (`conf/base/parameters_<task>.yml`): its kind's
defaults, then what `conf/base`, the run's environment (`conf/local`) and `--params` say of the task,
in that order, each as `tasks.<task>.<block>...` or `<task>.<block>...`, merged key by key. A choice
(`model`, `member`, `baseline`) that names another option (`model: {name: cnn}`) replaces the settings
of the one it replaces. Kedro checks the settings of every task a run includes before its first node
(a plain `kedro run` includes every registered pipeline); a bad one ends the run in one line.
"""


def _type_name(annotation: Any) -> str:
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{choice}`" for choice in arguments)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(argument) for argument in arguments if argument is not type(None)]
        return " or ".join(names) + (" or `null`" if type(None) in arguments else "")
    if origin is typing.Annotated:
        return _type_name(arguments[0])
    if origin in (tuple, list):
        return f"list of {_type_name(arguments[0])}" if arguments else "list"
    if origin is dict:
        return f"mapping of {_type_name(arguments[0])} to {_type_name(arguments[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "its defaults"
    return f"`{json.dumps(to_jsonable_python(value))}`"


def _members(annotation: Any) -> list[type[BaseModel]]:
    """The settings classes a field's annotation can hold (through unions, Optional and lists)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [member for argument in get_args(annotation) for member in _members(argument)]


def settings_table(model: type[BaseModel]) -> list[str]:
    lines = [f"### {model.__name__}", "", (model.__doc__ or "").strip().splitlines()[0], ""]
    lines += ["| key | type | default | |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
    return [*lines, ""]


def reference() -> str:
    blocks = {kind: spec.blocks for kind, spec in KINDS.items()}
    lines = [HEADER, "## Kinds", ""]
    for kind, spec in KINDS.items():
        lines += [f"### {kind}", "", "Stages: " + " → ".join(f"`{stage}`" for stage in spec.stages) + ".", ""]
        lines += ["| block | settings | the kind sets |", "|---|---|---|"]
        for block, model in blocks[kind].items():
            defaults = f"`{json.dumps(spec.defaults[block])}`" if block in spec.defaults else ""
            lines.append(f"| `{block}` | {_type_name(model)} | {defaults} |")
        lines.append("")
    lines += ["## Settings", ""]
    seen: list[type[BaseModel]] = []
    pending = [model for kind in blocks.values() for model in kind.values()]
    while pending:
        model = pending.pop(0)
        if model in seen:
            continue
        seen.append(model)
        lines += settings_table(model)
        pending += [member for field in model.model_fields.values() for member in _members(field.annotation)]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(reference(), end="")
