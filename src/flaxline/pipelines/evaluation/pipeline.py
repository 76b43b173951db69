from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.evaluation.nodes import compare_models, evaluate_baseline, evaluate_model


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                evaluate_model,
                inputs=["model", "test_features", "test_rows", "encoding", "params:classes", "params:evaluation"],
                outputs=["model_metrics", "test_predictions", "reliability_plot"],
                name="evaluate_model",
            ),
            node(
                evaluate_baseline,
                inputs=["train_rows", "test_rows", "params:classes", "params:evaluation"],
                outputs=["baseline_metrics", "baseline_predictions"],
                name="evaluate_baseline",
            ),
            node(
                compare_models,
                inputs=[
                    "model_metrics",
                    "baseline_metrics",
                    "history",
                    "test_predictions",
                    "baseline_predictions",
                    "params:evaluation",
                ],
                outputs=["comparison", "comparison_plot", "confusion_matrix_plot", "learning_curves_plot"],
                name="compare_models",
            ),
        ]
    )
