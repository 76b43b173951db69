"""Kedro hooks: one summary line per stage with its wall time; the running session's configuration."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, ClassVar

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node

if TYPE_CHECKING:
    from kedro.config import AbstractConfigLoader
    from kedro.framework.context import KedroContext

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
