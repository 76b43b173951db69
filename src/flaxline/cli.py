"""Project commands (Kedro lets a project's ``cli.py`` override its built-in ones).

``kedro run`` is Kedro's own, except that bad input (an ``InputError``, also when a dataset
raised it) and diverged training (``TrainingDiverged``) end in their one line,
``Error: <file>: ...``, and exit status 1, without a traceback; ``--traceback`` shows it anyway.
Every other failure is a bug and keeps its full traceback.
"""

from __future__ import annotations

from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS

from flaxline.errors import find_user_error

_TRACEBACK = click.Option(
    ["--traceback"], is_flag=True, help="Show the traceback of bad input or diverged training too (other errors always show theirs)."
)


@click.group(context_settings=CONTEXT_SETTINGS, name=__file__)
def cli() -> None:
    """Command line tools of the flaxline project."""


@cli.command(params=[*kedro_run.params, _TRACEBACK], help=kedro_run.help)
def run(traceback: bool, **options: Any) -> dict[str, Any]:
    try:
        return kedro_run.callback(**options)
    except Exception as error:
        user_error = find_user_error(error)
        if user_error is None or traceback:
            raise
        raise click.ClickException(str(user_error)) from None
