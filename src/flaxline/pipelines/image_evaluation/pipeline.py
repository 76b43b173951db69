from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines import evaluation
from flaxline.pipelines.image_evaluation.nodes import draw_misclassified_images


def create_pipeline(**kwargs) -> Pipeline:
    return evaluation.create_pipeline() + pipeline(
        [
            node(
                draw_misclassified_images,
                inputs=["test_rows", "test_predictions", "params:classes"],
                outputs="misclassified_plot",
                name="draw_misclassified_images",
            )
        ]
    )
