from typing import Literal

from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines.explanation.nodes import draw_explanations, explain_images, explain_texts, render_explanations


def create_pipeline(inputs: Literal["tokens", "images"] = "tokens", **kwargs) -> Pipeline:
    """Attributions of the test predictions, shown as a page of coloured tokens or as heat maps over images."""
    if inputs == "images":
        return pipeline(
            [
                node(
                    explain_images,
                    inputs=["model", "test_features", "test_predictions", "params:classes", "params:explanation"],
                    outputs=["explanations", "explanation_report"],
                    name="explain_predictions",
                ),
                node(
                    draw_explanations,
                    inputs=["explanations", "test_features"],
                    outputs="explanations_plot",
                    name="draw_explanations",
                ),
            ]
        )
    return pipeline(
        [
            node(
                explain_texts,
                inputs=[
                    "model",
                    "test_features",
                    "test_predictions",
                    "tokenizer",
                    "encoding",
                    "params:classes",
                    "params:explanation",
                ],
                outputs=["explanations", "explanation_report"],
                name="explain_predictions",
            ),
            node(render_explanations, inputs="explanations", outputs="explanations_page", name="render_explanations"),
        ]
    )
