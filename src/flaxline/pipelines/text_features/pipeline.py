from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.text_features.nodes import encode_texts, fit_text_tokenizer


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                fit_text_tokenizer,
                inputs=["train_rows", "params:classes", "params:features"],
                outputs=["tokenizer", "encoding"],
                name="fit_tokenizer",
            ),
            *[
                node(
                    encode_texts,
                    inputs=[f"{split}_rows", "tokenizer", "encoding", "params:classes"],
                    outputs=f"{split}_features",
                    name=f"encode_{split}",
                )
                for split in ("train", "validation", "test")
            ],
        ]
    )
