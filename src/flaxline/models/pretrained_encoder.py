"""A pretrained BERT-family encoder (all-MiniLM-L6-v2 by default) with a classification head, fine-tuned whole.

The architecture is read from the checkpoint's ``config.json`` when training starts and saved in
the model's configuration, so a saved model rebuilds without the checkpoint's folder; the
checkpoint's weights are loaded then too (``flaxline.models.bert``). Its tokens must come from the
checkpoint's own tokenizer (``features: {tokenizer_model: pretrained}``).
"""

from __future__ import annotations

from typing import Any, Literal

import jax
from flax import nnx
from pydantic import Field

from flaxline.config import Settings
from flaxline.errors import InputError
from flaxline.models.base import TokenInputs, ZooModel
from flaxline.models.bert.modeling import BertConfig, BertEncoder, Pooler
from flaxline.models.bert.params import load_checkpoint, read_tensors
from flaxline.models.bert.weights import architecture, checkpoint_file, weights_folder
from flaxline.models.pooling import masked_mean


class PretrainedEncoderSpec(Settings):
    """A pretrained encoder → mean over real tokens or BERT's [CLS] pooler → dropout → logits."""

    name: Literal["pretrained_encoder"] = "pretrained_encoder"
    weights: str = Field(
        "minilm",
        description="a folder of config.json + model.safetensors, a Hugging Face repository id in the local cache, "
        "or minilm (all-MiniLM-L6-v2, installed with flaxline)",
    )
    pooling: Literal["mean", "cls"] = Field("mean", description="mean over real tokens, or the [CLS] state's pooler")
    dropout: float | None = Field(None, ge=0.0, lt=1.0, description="before the head; null: the checkpoint's own")
    architecture: BertConfig | None = Field(
        None, description="read from the checkpoint when training starts, and saved with the model: leave unset"
    )


class PretrainedEncoderClassifier(ZooModel):
    def __init__(self, spec: PretrainedEncoderSpec, inputs: TokenInputs, outputs: int, *, rngs: nnx.Rngs):
        config = spec.architecture or architecture(weights_folder(spec.weights))
        if inputs.vocab_size != config.vocab_size:
            raise InputError(
                f"weights {spec.weights!r}: the encoder embeds {config.vocab_size} tokens but the tokenizer has "
                f"{inputs.vocab_size}; use the checkpoint's own (features: {{tokenizer_model: pretrained}})"
            )
        self.weights = spec.weights
        self.encoder = BertEncoder(config, rngs=rngs)
        self.pooler = Pooler(config, rngs=rngs) if spec.pooling == "cls" else None
        rate = config.hidden_dropout_prob if spec.dropout is None else spec.dropout
        self.dropout = nnx.Dropout(rate, rngs=rngs)
        self.head = nnx.Linear(config.hidden_size, outputs, rngs=rngs)

    @classmethod
    def completed(cls, spec: Settings) -> Settings:
        assert isinstance(spec, PretrainedEncoderSpec)
        if spec.architecture is not None:
            return spec
        return spec.model_copy(update={"architecture": architecture(weights_folder(spec.weights))})

    def load_pretrained(self) -> None:
        path = checkpoint_file(weights_folder(self.weights))
        load_checkpoint(read_tensors(path), str(path), self.encoder, self.pooler)

    def depths(self) -> Any:
        top = len(self.encoder.layers) + 1

        def depth(path: tuple, _) -> int:
            keys = [str(getattr(key, "key", "")) for key in path]
            if keys[0] != "encoder":
                return top  # the pooler and the head
            return 0 if keys[1] == "embeddings" else int(keys[2]) + 1

        return jax.tree_util.tree_map_with_path(depth, nnx.state(self, nnx.Param))

    def __call__(self, batch: dict[str, jax.Array]) -> jax.Array:
        states = self.encoder(batch["ids"], batch["lengths"])
        pooled = self.pooler(states) if self.pooler is not None else masked_mean(states, batch["lengths"])
        return self.head(self.dropout(pooled))
