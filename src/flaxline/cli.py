"""Project commands (Kedro lets a project's ``cli.py`` override its built-in ones).

``kedro run`` is Kedro's own, except that bad input (an ``InputError``, also when a dataset
raised it), bad parameters (Kedro's typed-parameter validation) and diverged training
(``TrainingDiverged``) end in one line, ``Error: <file>: ...``, and exit status 1, without a
traceback; ``--traceback`` shows it anyway. Every other failure is a bug and keeps its full traceback.
"""

from __future__ import annotations

import re
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS
from kedro.validation.exceptions import ParameterValidationError

from flaxline.errors import find_user_error

_TRACEBACK = click.Option(
    ["--traceback"],
    is_flag=True,
    help="Show the traceback of bad input or diverged training too (other errors always show theirs).",
)
# How Kedro lists each block that failed (kedro.validation.parameter_validator); our settings say what in one line.
_FAILED_BLOCK = re.compile(
    r"^- Parameter '(?P<block>[^']+)': (?:Failed to instantiate \w+ for parameter '[^']+': )?(?P<problem>.*)$"
)


@click.group(context_settings=CONTEXT_SETTINGS, name=__file__)
def cli() -> None:
    """Command line tools of the flaxline project."""


def parameter_error_line(error: ParameterValidationError) -> str:
    """Kedro's report of parameter blocks that failed validation, as one line naming the first block and what is
    wrong."""
    failed = [match for line in str(error).splitlines() if (match := _FAILED_BLOCK.match(line))]
    if not failed:
        return str(error).splitlines()[0]
    more = f" (and {len(failed) - 1} more blocks)" if len(failed) > 1 else ""
    return f"parameters '{failed[0]['block']}': {failed[0]['problem']}{more}"


@cli.command(params=[*kedro_run.params, _TRACEBACK], help=kedro_run.help)
def run(traceback: bool, **options: Any) -> dict[str, Any]:
    assert kedro_run.callback is not None  # click types a command's callback as optional
    try:
        return kedro_run.callback(**options)
    except ParameterValidationError as error:
        if traceback:
            raise
        raise click.ClickException(parameter_error_line(error)) from None
    except Exception as error:
        user_error = find_user_error(error)
        if user_error is None or traceback:
            raise
        raise click.ClickException(str(user_error)) from None
