from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.fusion.nodes import fuse_models


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                fuse_models,
                inputs=[
                    "model_versions",
                    "encoding_versions",
                    "tokenizer_versions",
                    "test_rows",
                    "params:classes",
                    "params:fusion",
                    "params:evaluation",
                ],
                outputs=["fusion_metrics", "fusion_predictions", "fusion_comparison", "version_pairs", "fusion_plot"],
                name="fuse_models",
            )
        ]
    )
