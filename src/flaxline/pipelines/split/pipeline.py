from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.split.nodes import split_rows


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                split_rows,
                inputs=["clean", "params:split"],
                outputs=["train_rows", "validation_rows", "test_rows"],
                name="split_rows",
            )
        ]
    )
