"""Errors a user must act on, each with a single-line message: bad input, and training that diverged."""

from __future__ import annotations


class InputError(ValueError):
    """Raised for input a user must fix; ``str(error)`` is the whole message."""


class TrainingDiverged(FloatingPointError):
    """Raised when a loss or the parameters become non-finite; the message names the epoch and step."""


def find_user_error(error: BaseException | None) -> InputError | TrainingDiverged | None:
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
    """``repr(value)``, of its first ``limit`` characters when longer, so that a message stays one short line
    whatever a file holds."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return repr(value[:limit]) + "…"
    return repr(value)
