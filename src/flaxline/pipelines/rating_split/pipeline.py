from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.rating_split.nodes import split_ratings


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                split_ratings,
                inputs=["clean", "params:split"],
                outputs=["train_rows", "validation_rows", "test_rows"],
                name="split_ratings",
            )
        ]
    )
