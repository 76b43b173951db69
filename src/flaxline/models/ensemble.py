"""An ensemble: several copies of one zoo model, each from its own initialisation, averaged: classifiers by
their class probabilities, rating models by their predicted ratings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field

from flaxline.config import Settings
from flaxline.losses import Batch, LossFn
from flaxline.models.base import ModelInputs, ZooModel

Outputs = jax.Array | dict[str, jax.Array]

if TYPE_CHECKING:
    from flaxline.models import MemberSpec


class EnsembleSpec(Settings):
    """``size`` members built from ``member`` (any other zoo model's settings), each with its own seed."""

    name: Literal["ensemble"] = "ensemble"
    size: int = Field(ge=2, description="number of members")
    member: MemberSpec


class Ensemble(ZooModel):
    """In evaluation mode the outputs are the members' average (``averaged``): the log of their mean class
    probabilities [B, C], or their mean rating.

    While training they are the members' own outputs stacked [size, ...], and ``ensemble_loss``
    gives each member its own loss on the same batches: averaging before the loss would train the
    members jointly and make them alike.
    """

    def __init__(self, spec: EnsembleSpec, inputs: ModelInputs, outputs: int, *, rngs: nnx.Rngs):
        from flaxline.models import MODELS  # the registry lists this class: import at call time

        member = MODELS[spec.member.name]
        keys = jax.random.split(rngs.params(), spec.size)
        self.members = nnx.List([member(spec.member, inputs, outputs, rngs=nnx.Rngs(key)) for key in keys])
        self.deterministic = False  # set by .train() / .eval(), like Dropout's

    @classmethod
    def reads(cls, spec: Settings) -> type[Settings]:
        from flaxline.models import MODELS

        assert isinstance(spec, EnsembleSpec)
        return MODELS[spec.member.name].reads(spec.member)

    def training_loss(self, loss: LossFn) -> LossFn:
        """Each member trained on its own loss: see ``ensemble_loss``."""
        return ensemble_loss(loss)

    def for_inference(self) -> Ensemble:
        """A copy in evaluation mode whose members are their own inference copies."""
        model = nnx.clone(self)
        model.eval()
        model.members = nnx.List([member.for_inference() for member in model.members])
        return model

    def __call__(self, batch: Batch) -> Outputs:
        outputs = [member(batch) for member in self.members]
        stacked = jax.tree.map(lambda *member: jnp.stack(member).astype(jnp.float32), *outputs)
        return stacked if not self.deterministic else averaged(stacked)


def log_mean_probability(member_logits: jax.Array) -> jax.Array:
    """The log of the members' mean class probabilities: [members, B, C] logits → [B, C]."""
    return jax.nn.logsumexp(jax.nn.log_softmax(member_logits, axis=-1), axis=0) - jnp.log(member_logits.shape[0])


def averaged(member_outputs: Outputs) -> Outputs:
    """The ensemble's prediction from its members' stacked outputs: logits by ``log_mean_probability``, a dict of
    outputs (a rating and its penalty) by each one's mean."""
    if isinstance(member_outputs, dict):
        return {name: jnp.mean(value, axis=0) for name, value in member_outputs.items()}
    return log_mean_probability(member_outputs)


def ensemble_loss(loss: LossFn) -> LossFn:
    """``loss`` for an ensemble in training: the sum of its members' objectives, so each follows its own
    gradient; the metrics are those of the ensemble's prediction (``averaged``)."""

    def members_loss(member_outputs: Outputs, batch: Batch):
        size = len(jax.tree.leaves(member_outputs)[0])
        members = (jax.tree.map(lambda stacked, index=index: stacked[index], member_outputs) for index in range(size))
        objective = sum(loss(outputs, batch)[0] for outputs in members)
        _, metrics = loss(averaged(member_outputs), batch)
        return objective, metrics

    return members_loss
