"""Nodes of distillation: the transfer set, the teacher's logits on it, and the student's features beside them."""

from __future__ import annotations

import logging
import time

import jax
import numpy as np
import pandas as pd
from flax import nnx
from pydantic import Field, NonNegativeInt, PositiveInt
from tokenizers import Tokenizer

from flaxline.config import Settings
from flaxline.engine.batching import Batching
from flaxline.engine.inference import examples_per_second, predict
from flaxline.errors import InputError
from flaxline.evaluation.metrics import classification_metrics
from flaxline.inputs import Encoding
from flaxline.models.serialization import ModelArtifact, check_trained_on
from flaxline.pipelines.text_features.nodes import encode_texts
from flaxline.text.augment import augmented_copies

logger = logging.getLogger(__name__)


class DistillationParams(Settings):
    """The transfer set a student learns the teacher's logits on (docs/evaluation.md); the student's tokenizer and
    training are the blocks ``student_features`` and ``student_training``."""

    copies: NonNegativeInt = Field(4, description="changed copies tried per training text (0: the texts alone)")
    mask_probability: float = Field(0.1, ge=0.0, le=1.0, description="each word of a copy masked")
    ngram_probability: float = Field(0.25, ge=0.0, le=1.0, description="a copy cut to a random n-gram of it")
    max_ngram: PositiveInt = 5
    join_probability: float = Field(0.0, ge=0.0, le=1.0, description="a copy followed by another training text")
    max_joins: PositiveInt = Field(1, description="training texts a copy may be followed by, each at join_probability")
    seed: int = 0
    teacher_batch_size: PositiveInt = Field(256, description="rows the teacher labels at once")
    throughput_batch_size: PositiveInt = Field(64, description="batch of the report's inference throughputs")
    throughput_seconds: float = Field(
        3.0, ge=0.0, description="each network's throughput timed this long (2 passes at least)"
    )


def transfer_set(train_rows: pd.DataFrame, parameters: DistillationParams) -> pd.DataFrame:
    """The training rows (``copy`` 0, labelled) and their changed copies (``copy`` ≥ 1: the label is the source's,
    but only the teacher's logits train on them)."""
    sources, texts = augmented_copies(
        list(train_rows["text"]),
        parameters.copies,
        parameters.mask_probability,
        parameters.ngram_probability,
        parameters.max_ngram,
        parameters.join_probability,
        parameters.max_joins,
        parameters.seed,
    )
    copies = train_rows.iloc[sources].assign(text=texts)
    copies = copies.assign(copy=copies.groupby("row").cumcount() + 1)
    transfer = pd.concat([train_rows.assign(copy=0), copies], ignore_index=True)
    logger.info("transfer set: %d training rows and %d changed copies", len(train_rows), len(copies))
    return transfer[["row", "copy", *[name for name in transfer.columns if name not in ("row", "copy")]]]


def teacher_logits(
    model: ModelArtifact,
    encoding: dict,
    classes: list[str],
    parameters: DistillationParams,
    *splits: dict[str, np.ndarray],
) -> tuple[np.ndarray, ...]:
    """The teacher's logits (float32 [N, C], temperature not applied) for each of ``splits`` (features through its
    own tokenizer); one line unless it predicts the task's classes from this encoding."""
    if model.config.classes is not None and list(model.config.classes) != list(classes):
        raise InputError(
            f"the teacher (model '{model.config.model.name}') predicts {list(model.config.classes)}, "
            f"the task's classes are {list(classes)}"
        )
    check_trained_on(model, encoding)
    described = Encoding.model_validate(encoding)
    batching = Batching(parameters.teacher_batch_size, described.token_arrays)
    started = time.perf_counter()
    logits = tuple(np.asarray(predict(model.model, features, batching), np.float32) for features in splits)
    rows = sum(len(features["labels"]) for features in splits)
    logger.info("teacher labelled %d rows in %.0f s", rows, time.perf_counter() - started)
    return logits


def label_with_teacher(
    model: ModelArtifact,
    tokenizer: Tokenizer,
    encoding: dict,
    transfer_rows: pd.DataFrame,
    validation_rows: pd.DataFrame,
    classes: list[str],
    parameters: DistillationParams,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The teacher's logits on the transfer set and on the validation split (what the student trains and stops on)."""
    transfer, validation = teacher_logits(
        model,
        encoding,
        classes,
        parameters,
        *(encode_texts(rows, tokenizer, encoding, classes) for rows in (transfer_rows, validation_rows)),
    )
    return {"logits": transfer}, {"logits": validation}


def with_teacher_logits(
    features: dict[str, np.ndarray], teacher: dict[str, np.ndarray], rows: pd.DataFrame
) -> dict[str, np.ndarray]:
    """The student's features of ``rows`` with the teacher's logits of them and which rows carry a label of their
    own (``labelled``: the original texts, ``copy`` 0)."""
    labelled = (rows["copy"].to_numpy() == 0) if "copy" in rows else np.ones(len(rows), bool)
    return features | {"teacher_logits": teacher["logits"], "labelled": labelled.astype(np.int32)}


def compare_student(
    teacher: ModelArtifact,
    tokenizer: Tokenizer,
    encoding: dict,
    student: ModelArtifact,
    student_test_features: dict[str, np.ndarray],
    student_metrics: dict,
    baseline_metrics: dict,
    test_rows: pd.DataFrame,
    classes: list[str],
    parameters: DistillationParams,
) -> pd.DataFrame:
    """Teacher, student and baseline side by side on the test split: accuracy, macro-F1, parameters, and the
    networks' inference throughput measured here, one after the other, in batches of ``throughput_batch_size``."""
    teacher_features = encode_texts(test_rows, tokenizer, encoding, classes)
    (logits,) = teacher_logits(teacher, encoding, classes, parameters, teacher_features)
    teacher_metrics = classification_metrics(teacher_features["labels"], logits.argmax(axis=1), list(classes))
    rows = []
    for name, model, features, metrics in (
        ("teacher", teacher, teacher_features, teacher_metrics),
        ("student", student, student_test_features, student_metrics),
    ):
        batching = Batching(parameters.throughput_batch_size, Encoding.model_validate(encoding).token_arrays)
        rows.append(
            {
                "model": name,
                "name": model.config.model.name,
                "accuracy": metrics["accuracy"],
                "macro_f1": metrics["macro_f1"],
                "parameters": sum(
                    int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(nnx.state(model.model, nnx.Param))
                ),
                "examples_per_s": examples_per_second(model.model, features, batching, parameters.throughput_seconds),
            }
        )
    rows.append(
        {
            "model": "baseline",
            "name": baseline_metrics["model"]["name"],
            "accuracy": baseline_metrics["accuracy"],
            "macro_f1": baseline_metrics["macro_f1"],
        }
    )
    table = pd.DataFrame(rows)
    table["speedup"] = table["examples_per_s"] / table.loc[0, "examples_per_s"]
    logger.info("distillation:\n%s", table.to_string(index=False))
    return table
