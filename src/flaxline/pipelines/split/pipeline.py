from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.split.nodes import split_data


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                split_data,
                inputs=["clean", "params:split"],
                outputs=["train_text", "validation_text", "test_text"],
                name="split_data",
            )
        ]
    )
