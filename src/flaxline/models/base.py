"""What every model of the zoo is built from, and what it maps: a batch (a dict of arrays) to logits.

A model is built from its own settings (a ``Settings`` subclass whose ``name`` is the zoo name),
the task's inputs (``TokenInputs`` or ``ImageInputs``, derived by the features stage) and the
number of classes. The inputs it reads from a batch are its own business: text models read
``ids`` and ``lengths``, image models ``images``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from flax import nnx
from pydantic import Field, PositiveInt, model_validator

from flaxline.config import Settings


class TokenInputs(Settings):
    """Token ids [B, L] (right-padded with 0) and lengths [B], from a tokenizer of ``vocab_size`` tokens."""

    type: Literal["tokens"] = "tokens"
    vocab_size: PositiveInt
    # The tokens in id order, for models that spell tokens (subword vectors); never saved with a model,
    # which keeps what it computed from them.
    vocabulary: tuple[str, ...] | None = Field(None, exclude=True, repr=False)

    @model_validator(mode="after")
    def _vocabulary_fits(self) -> TokenInputs:
        if self.vocabulary is not None and len(self.vocabulary) != self.vocab_size:
            raise ValueError(f"a vocabulary of {len(self.vocabulary)} tokens for vocab_size {self.vocab_size}")
        return self


class ImageInputs(Settings):
    """Images [B, H, W, C] of ``shape`` in their stored units (uint8 pixels, say), with the training
    split's per-channel mean and standard deviation, which the model normalises with."""

    type: Literal["images"] = "images"
    shape: tuple[PositiveInt, PositiveInt, PositiveInt]
    mean: tuple[float, ...]
    std: tuple[float, ...]


ModelInputs = Annotated[TokenInputs | ImageInputs, Field(discriminator="type")]


class ZooModel(nnx.Module):
    """The base of the zoo's models: ``Model(settings, inputs, num_classes, rngs=...)``, then ``model(batch)`` →
    logits."""

    inputs_type: ClassVar[type[Settings]] = TokenInputs

    if TYPE_CHECKING:  # the constructor every model of the zoo has (``MODELS`` builds them through this class)

        def __init__(self, spec: Settings, inputs: ModelInputs, num_classes: int, *, rngs: nnx.Rngs) -> None: ...

    def for_inference(self) -> ZooModel:
        """An equivalent model in evaluation mode that may be cheaper to evaluate (a copy); by default the model
        itself."""
        self.eval()
        return self
