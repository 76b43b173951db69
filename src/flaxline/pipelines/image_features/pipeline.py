from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.image_features.nodes import encode_images, fit_image_statistics


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                fit_image_statistics,
                inputs=["train_rows", "params:classes"],
                outputs="encoding",
                name="fit_image_statistics",
            ),
            *[
                node(
                    encode_images,
                    inputs=[f"{split}_rows", "encoding", "params:classes"],
                    outputs=f"{split}_features",
                    name=f"encode_{split}",
                )
                for split in ("train", "validation", "test")
            ],
        ]
    )
