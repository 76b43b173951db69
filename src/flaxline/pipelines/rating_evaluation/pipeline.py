from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.rating_evaluation.nodes import compare_rating_models, evaluate_ratings, recommend_items


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                evaluate_ratings,
                inputs=["model", "train_features", "test_features", "test_rows", "encoding", "params:evaluation"],
                outputs=["model_metrics", "baseline_metrics", "test_predictions"],
                name="evaluate_ratings",
            ),
            node(
                compare_rating_models,
                inputs=["model_metrics", "baseline_metrics", "history", "test_predictions", "train_rows"],
                outputs=["comparison", "error_by_activity_plot", "learning_curves_plot"],
                name="compare_rating_models",
            ),
            node(
                recommend_items,
                inputs=["model", "id_maps", "train_rows", "encoding", "params:evaluation"],
                outputs="recommendations",
                name="recommend_items",
            ),
        ]
    )
