from kedro.pipeline import Pipeline, node, pipeline

from flaxline.config import validated
from flaxline.pipelines.compression.nodes import CompressionParams, compression_report, prune, prune_structure, quantize

# The versioned model each method saves.
OUTPUTS = {"int8": "model_int8", "pruned": "model_pruned", "pruned_structured": "model_pruned_structured"}


def create_pipeline(parameters: dict | None = None, task: str = "<task>", **kwargs) -> Pipeline:
    """The methods the task's ``compression.methods`` names (``parameters``: the task's blocks), then the report of
    the model and each compressed one."""
    block = (parameters or {}).get("compression") or {}
    methods = validated(CompressionParams, block, f"parameters '{task}.compression'").methods
    saved = ["model", "encoding_versions", "tokenizer_versions"]
    training = [*saved, "train_rows", "validation_rows", "params:classes", "params:compression"]
    makers = {
        "int8": node(quantize, inputs=["model", "params:compression"], outputs=OUTPUTS["int8"], name="quantize"),
        "pruned": node(prune, inputs=training, outputs=OUTPUTS["pruned"], name="prune"),
        "pruned_structured": node(
            prune_structure, inputs=training, outputs=OUTPUTS["pruned_structured"], name="prune_structure"
        ),
    }
    report = node(
        compression_report,
        inputs=[*saved, "test_rows", "params:classes", "params:compression", *(OUTPUTS[m] for m in methods)],
        outputs=["compression_report", "compression_plot"],
        name="compression_report",
    )
    return pipeline([*(makers[method] for method in methods), report])
