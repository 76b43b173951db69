from kedro.pipeline import Pipeline, node, pipeline

from flaxline.config import validated
from flaxline.pipelines.export.nodes import ExportParams, export_model, export_text_model


def create_pipeline(kind: str = "texts", parameters: dict | None = None, task: str = "<task>", **kwargs) -> Pipeline:
    """The export of the saved model ``export.model`` names (``parameters``: the task's blocks)."""
    chosen = validated(ExportParams, (parameters or {}).get("export") or {}, f"parameters '{task}.export'").model
    inputs = ["model", "encoding_versions", "tokenizer_versions", "test_rows", "params:classes", "params:export"]
    export = (
        node(
            export_text_model,
            inputs=[*inputs, "params:data_processing"],
            outputs=["export", "export_report"],
            name="export_model",
        )
        if kind == "texts"
        else node(export_model, inputs=inputs, outputs=["export", "export_report"], name="export_model")
    )
    return pipeline([export], inputs={"model": chosen})
