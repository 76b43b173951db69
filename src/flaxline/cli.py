"""Project commands (Kedro lets a project's ``cli.py`` override its built-in ones, and add its own).

``kedro run`` is Kedro's own, except that bad input (an ``InputError``, also when a dataset
raised it), bad parameters (Kedro's typed-parameter validation) and diverged training
(``TrainingDiverged``) end in one line, ``Error: <file>: ...``, and exit status 1, without a
traceback; ``--traceback`` shows it anyway. Every other failure is a bug and keeps its full traceback.

``kedro serve`` (also ``flaxline serve``) serves a saved model of a text task over HTTP (``flaxline.serving``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import uvicorn
from kedro.framework.cli.project import run as kedro_run
from kedro.framework.cli.utils import CONTEXT_SETTINGS
from kedro.framework.session import KedroSession
from kedro.utils import find_kedro_project
from kedro.validation.exceptions import ParameterValidationError

from flaxline.config import validated
from flaxline.errors import InputError, find_user_error

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


@cli.command()
@click.option("--task", default=None, help="The task whose model to serve; default: the default task.")
@click.option("--model-version", default=None, help="A saved version of <task>.model; default: the newest.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="The port to listen on.")
@click.option("--env", "-e", default=None, help="Kedro configuration environment.")
def serve(task: str | None, model_version: str | None, host: str, port: int, env: str | None) -> None:
    """Serve a saved text model over HTTP: POST /predict with a JSON list of texts; GET /health, GET /version.

    Texts are cleaned and tokenized as the model's training run did (its own tokenizer version), and scored as
    `<task>.inference` scores them; the limits and batching are the task's `inference.service` settings."""
    try:
        app = _service_app(task, model_version, env)
    except Exception as error:
        user_error = find_user_error(error)
        if user_error is None:
            raise
        raise click.ClickException(str(user_error)) from None
    uvicorn.run(app, host=host, port=port, log_level="info")


def _service_app(task: str | None, model_version: str | None, env: str | None) -> Any:
    from flaxline.pipelines.inference.nodes import InferenceParams
    from flaxline.pipelines.saved_model import TrainedOn, checked_classes
    from flaxline.pipelines.text_processing.nodes import TextProcessingParams
    from flaxline.serving.scoring import TextScorer
    from flaxline.serving.service import create_app

    with KedroSession.create(project_path=find_kedro_project(Path.cwd()), env=env) as session:
        context = session.load_context()  # type: ignore[attr-defined]  # KedroSession's, not AbstractSession's
        tasks = context.params["tasks"]
        task = task or next((name for name, declared in tasks.items() if declared.get("default")), None)
        if task not in tasks or tasks[task]["kind"] != "text_classification":
            texts = [name for name, declared in tasks.items() if declared["kind"] == "text_classification"]
            raise InputError(f"--task {task!r}: not a text classification task; those are {', '.join(texts)}")
        catalog, parameters = context.catalog, context.params[task]
        version = model_version or catalog[f"{task}.model"].resolve_load_version()
        if version is None:
            raise InputError(f"{task}.model: no saved version; train one first (kedro run --pipelines {task})")
        source = f"{task}.model"
        model = checked_classes(catalog.load(source, version=version), parameters["classes"], f"{source} {version}")
        trained_on = TrainedOn(catalog.load(f"{task}.encoding_versions"), catalog.load(f"{task}.tokenizer_versions"))
        saved = trained_on.saved_model(model, source, version)
        processing = validated(
            TextProcessingParams, parameters["data_processing"], f"parameters '{task}.data_processing'"
        )
        inference = validated(InferenceParams, parameters["inference"], f"parameters '{task}.inference'")
    spec = inference.service
    scorer = TextScorer(
        model,
        saved.tokenizer,
        saved.encoding,
        processing.columns.text,
        processing.policy,
        spec.batch_rows,
        inference.length_multiple,
    )
    described = {
        "task": task,
        "model_version": version,
        "model": model.config.model.name,
        "classes": scorer.classes,
        "encoding_version": saved.encoding_version,
    }
    return create_app(scorer, spec, described)
