"""Losses, chosen by name: each maps (model outputs, batch) to the objective and per-example metrics.

A loss is ``loss(outputs, batch) -> (objective, metrics)``: ``objective`` is the scalar the train
step minimises (padding rows, ``batch["weights"] == 0``, left out), ``metrics`` a dict of
per-example values (always ``loss``) that the step sums, weighted by ``batch["weights"]``, for
the history and for early stopping. ``DIRECTIONS`` says which way each metric is better.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from pydantic import Field

from flaxline.config import Settings

Batch = dict[str, jax.Array]
LossFn = Callable[[Any, Batch], tuple[jax.Array, dict[str, jax.Array]]]

# +1: higher is better; -1: lower is better.
DIRECTIONS = {"loss": -1.0, "accuracy": 1.0, "absolute_error": -1.0}


class SoftmaxCrossEntropySpec(Settings):
    """Softmax cross-entropy of integer class labels (``batch["labels"]``); also reports accuracy."""

    name: Literal["softmax_cross_entropy"] = "softmax_cross_entropy"
    class_weights: Literal["balanced"] | None = Field(
        None,
        description="balanced: each class's loss weighed by n / (classes · n_class), as scikit-learn does; null: all 1",
    )


class MeanSquaredErrorSpec(Settings):
    """Squared error of predicted ratings (``outputs["rating"]``) against ``batch["ratings"]``, plus the model's
    own regularisation (``outputs["penalty"]``, per example); also reports the absolute error."""

    name: Literal["mean_squared_error"] = "mean_squared_error"


class DistillationSpec(Settings):
    """A student's loss on a teacher's logits (``batch["teacher_logits"]``), plus the cross-entropy of the hard labels
    of the rows that have one (``batch["labelled"]`` 1); reports accuracy against the label, or against the
    teacher's class for a row without one."""

    name: Literal["distillation"] = "distillation"
    soft: Literal["mse", "kl"] = Field(
        "mse",
        description="mse: squared error of the logits (Tang et al. 2019); kl: T² · KL(teacher ‖ student) of the "
        "temperature-softened probabilities (Hinton et al. 2015)",
    )
    temperature: float = Field(1.0, gt=0.0, description="kl only")
    soft_weight: float = Field(1.0, ge=0.0)
    hard_weight: float = Field(0.0, ge=0.0, description="of the labelled rows' cross-entropy")


LossSpec = Annotated[SoftmaxCrossEntropySpec | MeanSquaredErrorSpec | DistillationSpec, Field(discriminator="name")]


def class_weight_vector(labels: np.ndarray, num_classes: int, scheme: str | None) -> np.ndarray:
    """Per-class loss weights: all ones, or ``balanced`` (inverse class frequency, mean weight per example 1)."""
    if scheme is None:
        return np.ones(num_classes, dtype=np.float32)
    counts = np.bincount(labels, minlength=num_classes).astype(np.float32)
    return (len(labels) / (num_classes * np.maximum(counts, 1.0))).astype(np.float32)


def softmax_cross_entropy(class_weights: np.ndarray) -> LossFn:
    """The classification loss on logits [B, C], each example's term weighed by its class's weight."""
    weights_by_class = jnp.asarray(class_weights)

    def loss(logits: jax.Array, batch: Batch) -> tuple[jax.Array, dict[str, jax.Array]]:
        labels = batch["labels"]
        per_example = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
        loss_weights = batch["weights"] * weights_by_class[labels]
        objective = jnp.sum(per_example * loss_weights) / jnp.maximum(jnp.sum(loss_weights), 1e-9)
        correct = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
        return objective, {"loss": per_example, "accuracy": correct}

    return loss


def mean_squared_error(outputs: dict[str, jax.Array], batch: Batch) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The rating loss: squared error plus the model's penalty, over the real rows."""
    error = outputs["rating"] - batch["ratings"]
    weights = batch["weights"]
    objective = jnp.sum((error**2 + outputs.get("penalty", 0.0)) * weights) / jnp.maximum(jnp.sum(weights), 1e-9)
    return objective, {"loss": error**2, "absolute_error": jnp.abs(error)}


def _softmax_cross_entropy(spec: SoftmaxCrossEntropySpec, train: dict[str, np.ndarray], outputs: int) -> LossFn:
    return softmax_cross_entropy(class_weight_vector(train["labels"], outputs, spec.class_weights))


def distillation(spec: DistillationSpec) -> LossFn:
    """The student's loss (``DistillationSpec``) on logits [B, C]."""

    def loss(logits: jax.Array, batch: Batch) -> tuple[jax.Array, dict[str, jax.Array]]:
        teacher = batch["teacher_logits"]
        if spec.soft == "mse":
            soft = jnp.mean((logits - teacher) ** 2, axis=-1)
        else:
            t = spec.temperature
            soft = t**2 * optax.kl_divergence(jax.nn.log_softmax(logits / t), jax.nn.softmax(teacher / t))
        labelled = batch["labelled"].astype(logits.dtype)
        hard = optax.softmax_cross_entropy_with_integer_labels(logits, batch["labels"]) * labelled
        per_example = spec.soft_weight * soft + spec.hard_weight * hard
        objective = jnp.sum(per_example * batch["weights"]) / jnp.maximum(jnp.sum(batch["weights"]), 1e-9)
        target = jnp.where(labelled > 0, batch["labels"], jnp.argmax(teacher, axis=-1))
        return objective, {"loss": per_example, "accuracy": (jnp.argmax(logits, axis=-1) == target).astype(jnp.float32)}

    return loss


LOSSES: dict[str, Callable[..., LossFn]] = {
    "softmax_cross_entropy": _softmax_cross_entropy,
    "mean_squared_error": lambda spec, train, outputs: mean_squared_error,
    "distillation": lambda spec, train, outputs: distillation(spec),
}


def make_loss(spec: LossSpec, train: dict[str, np.ndarray], outputs: int) -> LossFn:
    """The loss ``spec`` names, fitted to the training arrays where it needs them (class weights) and the model's
    output width."""
    return LOSSES[spec.name](spec, train, outputs)
