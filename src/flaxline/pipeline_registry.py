"""Project pipelines: every stage of every declared task, each task under its own namespace.

Tasks are declared under ``tasks`` in the parameters (``conf/base/parameters_<task>.yml``), each
with its kind (``flaxline.kinds``); a task is its kind's stage pipelines under the namespace of its
name, so its datasets (``tweets.clean``) come from the catalog's factories and its parameters
from its merged block (``tweets.training``).

Registered names: ``__default__`` (every stage of the default tasks), each stage name (that stage
of the default tasks), each task name (all its stages), ``<task>.<stage>`` and, for the kinds that
have them, ``<task>.cross_validation`` and ``<task>.fusion`` (never part of the others: the first trains
once per fold, the second reads saved model versions). The stages are
listed here rather than found with ``find_pipelines``: since Kedro 1.7 ``find_pipelines`` loads
only the folders named by ``kedro run --pipelines``, and most names registered here are not folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from kedro.framework.project import settings
from kedro.pipeline import Pipeline, pipeline
from kedro.utils import find_kedro_project

from flaxline.errors import InputError
from flaxline.hooks import SessionConfigHooks
from flaxline.kinds import KINDS


def session_parameters() -> dict:
    """The parameters of the running session, each task's blocks made whole.

    Those are the configuration of the context a session created last (``--conf-source``,
    ``--env``, ``--params``); before any session (``kedro registry list``), the project's
    ``conf/`` with base, then local or ``KEDRO_ENV``.
    """
    loader = SessionConfigHooks.config_loader
    if loader is None:
        project = find_kedro_project(Path.cwd()) or Path.cwd()
        loader = settings.CONFIG_LOADER_CLASS(
            conf_source=str(project / settings.CONF_SOURCE),
            env=os.environ.get("KEDRO_ENV"),
            **settings.CONFIG_LOADER_ARGS,
        )
    parameters = loader["parameters"]
    if not parameters.get("tasks"):
        raise InputError(f"{loader.conf_source}: the parameters declare no tasks (a `tasks:` mapping)")
    return parameters


def register_pipelines() -> dict[str, Pipeline]:
    registry: dict[str, Pipeline] = {}
    parameters = session_parameters()
    tasks = dict(parameters["tasks"])
    for task, declaration in tasks.items():
        kind = KINDS[declaration["kind"]]
        for stage, create in kind.stages.items():
            registry[f"{task}.{stage}"] = pipeline(create(), namespace=task, tags=stage)
        registry[task] = sum((registry[f"{task}.{stage}"] for stage in kind.stages), Pipeline([]))
        for name, separate in kind.separate(parameters[task], task).items():
            registry[f"{task}.{name}"] = pipeline(separate, namespace=task, tags=name)
    default_tasks = [task for task, declaration in tasks.items() if declaration.get("default", False)]
    stage_names = dict.fromkeys(stage for task in default_tasks for stage in KINDS[tasks[task]["kind"]].stages)
    for stage in stage_names:
        registry[stage] = sum(
            (registry[f"{task}.{stage}"] for task in default_tasks if f"{task}.{stage}" in registry), Pipeline([])
        )
    registry["__default__"] = sum((registry[task] for task in default_tasks), Pipeline([]))
    return registry
