from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines import data_quality
from flaxline.pipelines.image_processing.nodes import clean_image_rows


def create_pipeline(**kwargs) -> Pipeline:
    return (
        pipeline(
            [
                node(
                    clean_image_rows,
                    inputs=["raw", "params:classes", "params:data_processing"],
                    outputs=["kept", "rejected", "cleaning_report"],
                    name="clean_image_rows",
                )
            ]
        )
        + data_quality.create_pipeline()
    )
