"""How flaxline's datasets report bad input to Kedro."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kedro.io.core import DatasetError

from flaxline.errors import InputError


@contextmanager
def input_errors_as_dataset_errors() -> Iterator[None]:
    """Turn an ``InputError`` into the ``DatasetError`` Kedro passes on unchanged, keeping it as the cause.

    With the cause kept, ``flaxline.errors.find_user_error`` still knows it for bad input, and
    `kedro run` shows it as its one line (``flaxline.cli``).
    """
    try:
        yield
    except InputError as error:
        raise DatasetError(str(error)) from error
