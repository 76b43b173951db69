from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.data_quality.nodes import accept_clean_rows


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                accept_clean_rows,
                inputs=["kept", "rejected", "cleaning_report"],
                outputs="clean",
                name="accept_clean_rows",
            )
        ]
    )
