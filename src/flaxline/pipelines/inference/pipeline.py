from kedro.pipeline import Pipeline, node, pipeline

from flaxline.config import validated
from flaxline.pipelines.inference.nodes import InferenceParams, score_rows


def create_pipeline(parameters: dict | None = None, task: str = "<task>", **kwargs) -> Pipeline:
    """New rows scored by the saved model ``inference.model`` names (``parameters``: the task's blocks)."""
    chosen = validated(
        InferenceParams, (parameters or {}).get("inference") or {}, f"parameters '{task}.inference'"
    ).model
    return pipeline(
        [
            node(
                score_rows,
                inputs=[
                    "inference_input",
                    "model",
                    "encoding_versions",
                    "tokenizer_versions",
                    "params:data_processing",
                    "params:inference",
                ],
                outputs=["inference_predictions", "inference_rejected"],
                name="score_rows",
            )
        ],
        inputs={"model": chosen},
    )
