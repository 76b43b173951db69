from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.training.nodes import train_model


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                train_model,
                inputs=["train_features", "validation_features", "encoding", "params:training"],
                outputs=["model", "history", "training_report"],
                name="train_model",
            )
        ]
    )
