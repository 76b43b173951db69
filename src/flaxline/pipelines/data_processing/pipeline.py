from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.data_processing.nodes import clean_raw_data


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                clean_raw_data,
                inputs=["raw", "params:classes", "params:data_processing"],
                outputs=["clean", "rejected", "cleaning_report"],
                name="clean_raw_data",
            )
        ]
    )
