from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines import data_quality
from flaxline.pipelines.text_processing.nodes import clean_texts


def create_pipeline(**kwargs) -> Pipeline:
    return (
        pipeline(
            [
                node(
                    clean_texts,
                    inputs=["raw", "params:classes", "params:data_processing"],
                    outputs=["kept", "rejected", "cleaning_report"],
                    name="clean_texts",
                )
            ]
        )
        + data_quality.create_pipeline()
    )
