from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.rating_features.nodes import encode_rating_rows, fit_rating_ids


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                fit_rating_ids,
                inputs=["train_rows", "params:data_processing"],
                outputs=["id_maps", "encoding"],
                name="fit_rating_ids",
            ),
            *[
                node(
                    encode_rating_rows,
                    inputs=[f"{split}_rows", "id_maps"],
                    outputs=f"{split}_features",
                    name=f"encode_{split}",
                )
                for split in ("train", "validation", "test")
            ],
        ]
    )
