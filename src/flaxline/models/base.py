"""What every model of the zoo is built from, and what it maps: a batch (a dict of arrays) to logits.

A model is built from its own settings (a ``Settings`` subclass whose ``name`` is the zoo name),
the task's inputs (``TokenInputs`` or ``ImageInputs``, derived by the features stage) and the
number of classes. The inputs it reads from a batch are its own business: text models read
``ids`` and ``lengths``, image models ``images``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from flax import nnx

from flaxline.config import Settings
from flaxline.inputs import ImageInputs, ModelInputs, RatingInputs, TokenInputs
from flaxline.losses import LossFn

__all__ = ["ImageInputs", "ModelInputs", "RatingInputs", "TokenInputs", "ZooModel", "nested_state"]


class ZooModel(nnx.Module):
    """The base of the zoo's models: ``Model(settings, inputs, outputs, rngs=...)``, then ``model(batch)`` →
    logits."""

    inputs_type: ClassVar[type[Settings]] = TokenInputs

    @classmethod
    def reads(cls, spec: Settings) -> type[Settings]:
        """The kind of inputs a model of these settings reads (``TokenInputs`` or ``ImageInputs``)."""
        return cls.inputs_type

    @classmethod
    def completed(cls, spec: Settings) -> Settings:
        """``spec`` with what it names read in, before a model is first built to train (a pretrained encoder's
        architecture), so that the saved configuration rebuilds it alone; by default ``spec`` itself."""
        return spec

    def load_pretrained(self) -> None:
        """Set the pretrained weights the settings name, before training; by default none (the initialisation
        stands)."""

    def depths(self) -> Any | None:
        """Each parameter's depth (0: the input embeddings, then one per layer, the head last) in a tree shaped like
        ``nnx.state(model, nnx.Param)``: what layer-wise learning rates and freezing go by. None: no such layers."""
        return None

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


def nested_state(flat: dict[str, np.ndarray]) -> dict:
    """``{"layers.0.norm.scale": x}`` as ``{"layers": {0: {"norm": {"scale": x}}}}``: the pure-dict form of an nnx
    state, for ``nnx.replace_by_pure_dict``."""
    tree: dict = {}
    for dotted, value in flat.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(int(part) if part.isdigit() else part, {})
        node[int(leaf) if leaf.isdigit() else leaf] = value
    return tree
