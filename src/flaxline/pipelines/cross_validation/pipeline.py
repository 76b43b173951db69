from collections.abc import Callable

from kedro.pipeline import Pipeline, node, pipeline

from flaxline.data.split import SPLITS
from flaxline.pipelines.cross_validation.nodes import carve_folds, summarize_folds


def create_pipeline(folds: int = 5, stages: dict[str, Callable[[], Pipeline]] | None = None, **kwargs) -> Pipeline:
    """``stages`` (the kind's features, training and evaluation) once per fold, each under the namespace
    ``fold_<n>`` with the task's own parameters, between the node that carves the folds (``fold_<n>_train_rows``,
    ...) and the summary of their metrics (``fold_<n>_model_metrics``, ``fold_<n>_baseline_metrics``)."""
    names = [f"fold_{fold}" for fold in range(folds)]
    per_fold = sum((create() for create in (stages or {}).values()), Pipeline([]))
    parameters = {name: name for name in per_fold.inputs() if name.startswith("params:")}
    reports = ("model_metrics", "baseline_metrics")
    return pipeline(
        [
            node(
                carve_folds,
                inputs=["train_rows", "validation_rows", "params:cross_validation"],
                outputs=[f"{name}_{split}_rows" for name in names for split in SPLITS],
                name="carve_folds",
            ),
            *(
                pipeline(
                    per_fold,
                    namespace=name,
                    parameters=parameters,
                    inputs={f"{split}_rows": f"{name}_{split}_rows" for split in SPLITS},
                    outputs={report: f"{name}_{report}" for report in reports},
                )
                for name in names
            ),
            node(
                summarize_folds,
                inputs=[f"{name}_{report}" for report in reports for name in names],
                outputs=["cross_validation", "cross_validation_plot"],
                name="summarize_folds",
            ),
        ]
    )
