"""Kedro's ``OmegaConfigLoader``, with each declared task's parameters made whole (``flaxline.kinds``)."""

from __future__ import annotations

from typing import Any

from kedro.config import MissingConfigException, OmegaConfigLoader

from flaxline.kinds import expand_tasks


class TaskConfigLoader(OmegaConfigLoader):
    """Reads configuration as Kedro does; ``["parameters"]`` also holds every task's merged parameter blocks.

    The tasks are merged from each source on its own (base, the run's environment, runtime
    parameters) rather than from OmegaConf's merge of them, so that an environment or ``--params``
    that switches a choice (``model: {name: cnn}``) replaces the settings of the one it replaces.
    """

    def __getitem__(self, key: str) -> dict[str, Any]:
        config = super().__getitem__(key)
        if key != "parameters" or key in self:  # set explicitly: no files behind it
            return config
        return expand_tasks(config, [*map(self._parameters_of, self._environments()), dict(self.runtime_params or {})])

    def _environments(self) -> list[str]:
        run_env = self.env or self.default_run_env
        return [self.base_env, *([run_env] if run_env and run_env != self.base_env else [])]

    def _parameters_of(self, env: str) -> dict[str, Any]:
        """The parameters of one environment's files alone."""
        alone = OmegaConfigLoader(
            conf_source=self.conf_source,
            env=env,
            base_env=env,
            default_run_env=env,
            config_patterns={"parameters": self.config_patterns["parameters"]},
            custom_resolvers=self._custom_resolvers,
        )
        try:
            return alone["parameters"]
        except MissingConfigException:
            return {}
