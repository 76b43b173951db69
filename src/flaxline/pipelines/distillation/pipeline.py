from kedro.pipeline import Pipeline, node, pipeline

from flaxline.pipelines import evaluation, text_features, training
from flaxline.pipelines.distillation.nodes import compare_student, label_with_teacher, transfer_set, with_teacher_logits

STUDENT = "student"
# What the student's stages read of the task's own datasets, under names of their own where the student has one too.
TEACHER = {"teacher_model": "model", "teacher_tokenizer": "tokenizer", "teacher_encoding": "encoding"}
SHARED = [
    "transfer_rows",
    "train_rows",
    "validation_rows",
    "test_rows",
    "teacher_train_logits",
    "teacher_validation_logits",
]


def create_pipeline(**kwargs) -> Pipeline:
    """The transfer set and the teacher's logits on it (the teacher: the task's model, any saved version), then the
    student through the kind's features, training and evaluation stages under the namespace ``student``, its
    features with the teacher's logits beside them; and teacher, student and baseline compared."""
    features = pipeline(
        text_features.create_pipeline(),
        inputs={"train_rows": "transfer_rows"},
        outputs={f"{split}_features": f"encoded_{split}_features" for split in ("train", "validation")},
    )
    attach = [
        node(
            with_teacher_logits,
            inputs=[f"encoded_{split}_features", f"teacher_{split}_logits", rows],
            outputs=f"{split}_features",
            name=f"{split}_with_teacher_logits",
        )
        for split, rows in (("train", "transfer_rows"), ("validation", "validation_rows"))
    ]
    compare = node(
        compare_student,
        inputs=[
            "teacher_model",
            "teacher_tokenizer",
            "teacher_encoding",
            "model",
            "test_features",
            "model_metrics",
            "baseline_metrics",
            "test_rows",
            "params:classes",
            "params:distillation",
        ],
        outputs="distillation",
        name="compare_student",
    )
    student = (
        features + Pipeline(attach) + training.create_pipeline() + evaluation.create_pipeline() + Pipeline([compare])
    )
    own = {name: name for name in student.inputs() if name.startswith("params:")}
    return pipeline(
        [
            node(
                transfer_set, inputs=["train_rows", "params:distillation"], outputs="transfer_rows", name="transfer_set"
            ),
            node(
                label_with_teacher,
                inputs=[
                    "model",
                    "tokenizer",
                    "encoding",
                    "transfer_rows",
                    "validation_rows",
                    "params:classes",
                    "params:distillation",
                ],
                outputs=["teacher_train_logits", "teacher_validation_logits"],
                name="label_with_teacher",
            ),
            pipeline(
                student,
                namespace=STUDENT,
                parameters=own
                | {
                    "params:features": "params:student_features",
                    "params:training": "params:student_training",
                },
                inputs={name: name for name in SHARED} | TEACHER,
                outputs={"distillation": "distillation"},
            ),
        ]
    )
