"""Kedro hooks: one summary line per stage with its wall time; the running session's configuration;
a training run's checkpoints deleted once its model is saved; MLflow tracking for the runs that ask for it."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, ClassVar

from kedro.config import AbstractConfigLoader, MissingConfigException
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node
from pydantic import BaseModel

from flaxline.engine.checkpoints import remove_checkpoints
from flaxline.errors import InputError
from flaxline.models.serialization import ModelArtifact, model_to_bytes

logger = logging.getLogger(__name__)


class SessionConfigHooks:
    """Keeps the configuration loader of the context a session created last, for the pipeline registry.

    Kedro calls ``register_pipelines()`` without arguments, after the session has created its
    context; the tasks to register are in that context's configuration: its conf source (a
    folder, or the ``.tar.gz`` of ``kedro package``), its environment and its runtime parameters.
    """

    config_loader: ClassVar[AbstractConfigLoader | None] = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        SessionConfigHooks.config_loader = context.config_loader


class CheckpointCleanupHooks:
    """Deletes a training run's checkpoints once its model is saved: until then, a crash can still resume."""

    @hook_impl
    def after_dataset_saved(self, data: Any) -> None:
        if isinstance(data, ModelArtifact) and data.checkpoint_folder is not None:
            remove_checkpoints(data.checkpoint_folder)


class StageTimingHooks:
    """Adds up node wall times per stage: the tag the registry gives each stage's nodes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.started: dict[str, float] = {}

    @hook_impl
    def before_pipeline_run(self) -> None:
        self.seconds.clear()

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        self.started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Node) -> None:
        elapsed = time.perf_counter() - self.started.pop(node.name)
        stage = ",".join(sorted(node.tags)) or "untagged"
        task = node.namespace.split(".")[0] if node.namespace else ""
        self.seconds[f"{task}.{stage}" if task else stage] += elapsed

    @hook_impl
    def after_pipeline_run(self) -> None:
        for stage, seconds in self.seconds.items():
            logger.info("stage %s: %.1f s", stage, seconds)


class MlflowTrackingHooks:
    """Tracks a run in MLflow when its environment has an ``mlflow.yml`` (``kedro run --env mlflow``).

    kedro-mlflow's own hooks (one MLflow run per Kedro run, every node's parameters) are disabled
    in ``settings.py``, so that installing the extra changes nothing until a run asks for tracking;
    this turns them on for such a run and logs what the pipeline saves: each epoch of
    ``<task>.history`` (step = epoch), the numbers of ``<task>.<model>_metrics`` with the file as an
    artifact, and ``<task>.model`` as an artifact. MLflow is imported only then.

    The artifacts are logged here rather than with kedro-mlflow's ``MlflowArtifactDataset``: that
    wrapper gives a versioned dataset a save version of its own, which Kedro 1.7's catalog rejects.
    """

    def __init__(self) -> None:
        self.tracking = False

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        try:
            self.tracking = bool(context.config_loader["mlflow"])
        except MissingConfigException:
            self.tracking = False
        if not self.tracking:
            return
        # flaxline reaches nothing but the package index; MLflow's usage telemetry is on unless disabled.
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        try:
            from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
        except ImportError:
            raise InputError(
                f"environment '{context.env}' has an mlflow.yml but kedro-mlflow is not installed: "
                "uv sync --extra mlflow (or pip install 'flaxline[mlflow]')"
            ) from None
        # Kedro offers no public way to add a plugin's hooks to a session after it was created.
        hook_manager = context._hook_manager
        if not any(isinstance(plugin, type(mlflow_hook)) for plugin in hook_manager.get_plugins()):
            tracking_hook = typed_parameters_hook(type(mlflow_hook))()
            tracking_hook.after_context_created(context)  # registered now, it would miss this call
            hook_manager.register(tracking_hook)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if not self.tracking:
            return
        import mlflow

        if mlflow.active_run() is None:  # kedro-mlflow's configuration left this pipeline out
            return
        task, _, name = dataset_name.rpartition(".")
        if name == "history":
            for epoch in data.to_dict("records"):
                step = int(epoch.pop("epoch"))
                mlflow.log_metrics({f"{dataset_name}.{key}": float(value) for key, value in epoch.items()}, step=step)
        elif name.endswith("_metrics"):
            numbers = {
                key: value
                for key, value in data.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
            }
            mlflow.log_metrics({f"{dataset_name}.{key}": float(value) for key, value in numbers.items()})
            mlflow.log_dict(data, f"{task}/{name}.json")
        elif name == "model":
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.safetensors"
                path.write_bytes(model_to_bytes(data.model, data.config))
                mlflow.log_artifact(str(path), artifact_path=task)


def typed_parameters_hook(mlflow_hook_class: type) -> type:
    """kedro-mlflow's hook, logging typed parameter blocks as the nested mappings they were written as.

    It flattens dicts only (``tweets.training.loop.epochs``); a pydantic block would be one long string.
    """

    class TypedParametersMlflowHook(mlflow_hook_class):
        @hook_impl
        def before_node_run(self, node: Node, catalog: Any, inputs: dict[str, Any], is_async: bool) -> None:
            plain = {
                name: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
                for name, value in inputs.items()
            }
            super().before_node_run(node=node, catalog=catalog, inputs=plain, is_async=is_async)

    return TypedParametersMlflowHook
