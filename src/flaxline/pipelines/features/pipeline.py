from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.features.nodes import encode_split, fit_text_tokenizer


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                fit_text_tokenizer,
                inputs=["train_text", "params:features"],
                outputs=["tokenizer", "encoding"],
                name="fit_tokenizer",
            ),
            *[
                node(
                    encode_split,
                    inputs=[f"{split}_text", "tokenizer", "encoding", "params:classes"],
                    outputs=f"{split}_features",
                    name=f"encode_{split}",
                )
                for split in ("train", "validation", "test")
            ],
        ]
    )
