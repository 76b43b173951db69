"""What every model of the zoo is built from, and what it maps: a batch (a dict of arrays) to logits.

A model is built from its own settings (a ``Settings`` subclass whose ``name`` is the zoo name),
the task's inputs (``TokenInputs`` or ``ImageInputs``, derived by the features stage) and the
number of classes. The inputs it reads from a batch are its own business: text models read
``ids`` and ``lengths``, image models ``images``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flax import nnx

from flaxline.config import Settings
from flaxline.inputs import ImageInputs, ModelInputs, RatingInputs, TokenInputs
from flaxline.losses import LossFn

__all__ = ["ImageInputs", "ModelInputs", "RatingInputs", "TokenInputs", "ZooModel"]


class ZooModel(nnx.Module):
    """The base of the zoo's models: ``Model(settings, inputs, outputs, rngs=...)``, then ``model(batch)`` →
    logits."""

    inputs_type: ClassVar[type[Settings]] = TokenInputs

    @classmethod
    def reads(cls, spec: Settings) -> type[Settings]:
        """The kind of inputs a model of these settings reads (``TokenInputs`` or ``ImageInputs``)."""
        return cls.inputs_type

    def training_loss(self, loss: LossFn) -> LossFn:
        """The loss the train step minimises for this model: the task's ``loss``, unless the model says otherwise."""
        return loss

    if TYPE_CHECKING:  # the constructor every model of the zoo has (``MODELS`` builds them through this class)

        def __init__(self, spec: Settings, inputs: ModelInputs, outputs: int, *, rngs: nnx.Rngs) -> None: ...

    def for_inference(self) -> ZooModel:
        """An equivalent model in evaluation mode that may be cheaper to evaluate (a copy); by default the model
        itself."""
        self.eval()
        return self
