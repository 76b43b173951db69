"""Errors a user must act on, each with a single-line message: bad input, and training that diverged."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence


class InputError(ValueError):
    """Raised for input a user must fix; ``str(error)`` is the whole message."""


class TrainingDiverged(FloatingPointError):
    """Raised when a loss or the parameters become non-finite; the message names the epoch and step."""


def find_user_error(error: BaseException) -> InputError | TrainingDiverged | None:
    """The user-facing error that ``error`` is, or was raised from (following ``raise ... from``), if any.

    Wrappers such as Kedro's ``DatasetError`` keep the bad-input error as their cause; an error
    merely raised while handling one (``__context__``) is a failure of its own and is not followed.
    """
    while error is not None:
        if isinstance(error, InputError | TrainingDiverged):
            return error
        error = error.__cause__
    return None


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)``, of its first ``limit`` characters when longer, so that a message stays one short line whatever a file holds."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return repr(value[:limit]) + "…"
    return repr(value)


def require_settings(settings: object, names: Iterable[str], block: str = "") -> None:
    """One line when ``settings`` is not a mapping, or naming the first of ``names`` it lacks."""
    what = f"{block} settings" if block else "settings"
    if not isinstance(settings, dict):
        raise InputError(f"{what} must be a mapping of names to values, not {shown(settings)}")
    missing = [name for name in names if name not in settings]
    if missing:
        raise InputError(f"missing {block + ' ' if block else ''}setting '{missing[0]}'")


def check_known_settings(settings: object, known: Sequence[str], block: str = "") -> None:
    """One line when ``settings`` is not a mapping or holds a key outside ``known``, listing those."""
    require_settings(settings, (), block)
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise InputError(f"unknown {block + ' ' if block else ''}setting '{unknown[0]}'; known: {', '.join(known)}")


def check_settings(function: Callable, settings: object, block: str, passed_by_code: Iterable[str] = ()) -> None:
    """``check_known_settings`` with the keyword arguments of ``function`` as the known names.

    ``passed_by_code`` are arguments the caller supplies itself, so they are not offered to users.
    """
    keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    known = [
        name for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind in keywords and name not in set(passed_by_code)
    ]
    check_known_settings(settings, known, block)
