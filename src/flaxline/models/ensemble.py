"""An ensemble: several copies of one zoo model, each from its own initialisation, averaged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import jax
import jax.numpy as jnp
from flax import nnx
from pydantic import Field

from flaxline.config import Settings
from flaxline.losses import Batch, LossFn
from flaxline.models.base import ModelInputs, ZooModel

if TYPE_CHECKING:
    from flaxline.models import MemberSpec


class EnsembleSpec(Settings):
    """``size`` members built from ``member`` (any other zoo model's settings), each with its own seed."""

    name: Literal["ensemble"] = "ensemble"
    size: int = Field(ge=2, description="number of members")
    member: MemberSpec


class Ensemble(ZooModel):
    """In evaluation mode the logits are the log of the members' mean class probabilities [B, C].

    While training they are the members' own logits stacked [size, B, C], and ``ensemble_loss``
    gives each member its own loss on the same batches: averaging probabilities before the loss
    would train the members jointly and make them alike.
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

    def __call__(self, batch: Batch) -> jax.Array:
        logits = jnp.stack([member(batch) for member in self.members]).astype(jnp.float32)
        return logits if not self.deterministic else log_mean_probability(logits)


def log_mean_probability(member_logits: jax.Array) -> jax.Array:
    """The log of the members' mean class probabilities: [members, B, C] logits → [B, C]."""
    return jax.nn.logsumexp(jax.nn.log_softmax(member_logits, axis=-1), axis=0) - jnp.log(member_logits.shape[0])


def ensemble_loss(loss: LossFn) -> LossFn:
    """``loss`` for an ensemble in training: the sum of its members' objectives, so each follows its own
    gradient; the metrics are those of the ensemble's prediction (the members' mean probability)."""

    def members_loss(member_logits: jax.Array, batch: Batch):
        objective = sum(loss(logits, batch)[0] for logits in member_logits)
        _, metrics = loss(log_mean_probability(member_logits), batch)
        return objective, metrics

    return members_loss
