from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines import data_quality
from flaxline.pipelines.rating_processing.nodes import clean_rating_rows


def create_pipeline(**kwargs) -> Pipeline:
    return (
        pipeline(
            [
                node(
                    clean_rating_rows,
                    inputs=["raw", "params:data_processing"],
                    outputs=["kept", "rejected", "cleaning_report"],
                    name="clean_rating_rows",
                )
            ]
        )
        + data_quality.create_pipeline()
    )
