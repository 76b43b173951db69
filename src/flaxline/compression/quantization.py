"""int8 post-training quantization: matrix products with ``qwix`` (dense, convolutional, recurrent and attention
projections), embedding tables per row here (qwix leaves gathers in float32).

``qwix.quantize_model`` runs the model once and turns each weight a rule matches into int8 values with one scale per
output channel when a product first uses it; ``dynamic_int8`` activations are quantized at run time, row by row, so
the products run int8 × int8 on XLA:CPU, while ``none`` keeps float32 activations (the weight is dequantized first:
only memory shrinks). No scheme needs calibration data. Embedding rows are int8 with one scale per row and are
dequantized when looked up. A quantized model keeps its ``QuantizationSpec`` in its configuration, and is rebuilt
from it when loaded (``flaxline.models.build_model``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal
from unittest import mock

import jax
import jax.numpy as jnp
import qwix
from flax import nnx, struct
from pydantic import Field

from flaxline.config import Settings
from flaxline.errors import InputError
from flaxline.inputs import ImageInputs, ModelInputs, RatingInputs


class QuantizationRule(Settings):
    """Which products are quantized, and how: the first rule whose ``module_path`` matches a module applies."""

    module_path: str = Field(
        ".*", description="regular expression over the module's path, as in encoder/layers/0/attention/query"
    )
    weights: Literal["int8", "none"] = Field("int8", description="none: the matched products stay float32")
    activations: Literal["dynamic_int8", "none"] = Field(
        "dynamic_int8",
        description="dynamic_int8: inputs quantized per row at run time (int8 products); none: weight-only "
        "(float32 products, int8 storage; not for convolutions)",
    )


class QuantizationSpec(Settings):
    """int8 post-training quantization of a model's products (qwix) and embedding tables."""

    rules: tuple[QuantizationRule, ...] = Field((QuantizationRule(),), min_length=1)
    embeddings: Literal["int8_rows", "float32"] = Field(
        "int8_rows", description="int8_rows: each embedding table's rows int8 with a scale per row"
    )


@struct.dataclass
class Int8Rows:
    """An embedding table as int8 rows and a float32 scale per row; ``[...]`` is the float32 table."""

    values: nnx.Param
    scales: nnx.Param

    def __getitem__(self, key: Any) -> jax.Array:
        return self.value[key]

    @property
    def value(self) -> jax.Array:
        return self.values[...].astype(jnp.float32) * self.scales[...]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    @property
    def dtype(self) -> Any:
        return jnp.float32


nnx.register_data_type(Int8Rows)


def int8_rows(table: jax.Array) -> Int8Rows:
    quantized = qwix.quantize(table, jnp.int8, channelwise_axes=[0])
    return Int8Rows(nnx.Param(quantized.qvalue), nnx.Param(quantized.scale.astype(jnp.float32)))


def quantized(model: nnx.Module, spec: QuantizationSpec, inputs: ModelInputs) -> Any:
    """A quantized copy of ``model`` (in evaluation mode) as ``spec`` says; one line when a rule cannot apply."""
    model.eval()
    rules = [
        qwix.QuantizationRule(
            module_path=rule.module_path,
            weight_qtype=jnp.int8 if rule.weights == "int8" else None,
            act_qtype=jnp.int8 if rule.activations == "dynamic_int8" and rule.weights == "int8" else None,
        )
        for rule in spec.rules
    ]
    provider = qwix.PtqProvider(rules)
    try:
        with _loops_unrolled():
            model = qwix.quantize_model(model, provider, example_batch(inputs))
    except ValueError as error:
        raise InputError(f"compression.quantization: {str(error).splitlines()[0]}") from None
    unused = provider.get_unused_rules()
    if unused:
        raise InputError(f"compression.quantization: the rule for {unused[0].module_path!r} matches no product")
    if spec.embeddings == "int8_rows":
        for _, module in nnx.iter_modules(model):
            if isinstance(module, nnx.Embed) and not isinstance(module.embedding, Int8Rows):
                module.embedding = int8_rows(module.embedding[...])  # type: ignore[assignment]
    return model


def example_batch(inputs: ModelInputs) -> dict[str, jax.Array]:
    """A batch of two rows of ``inputs``' kind: what quantizing runs the model on (its outputs are not used)."""
    if isinstance(inputs, ImageInputs):
        return {"images": jnp.zeros((2, *inputs.shape), jnp.uint8)}
    if isinstance(inputs, RatingInputs):
        return {name: jnp.zeros((2,), jnp.int32) for name in ("users", "items", "user_days")}
    return {"ids": jnp.ones((2, 2), jnp.int32), "lengths": jnp.full((2,), 2, jnp.int32)}


@contextmanager
def _loops_unrolled() -> Iterator[None]:
    """qwix turns a weight into int8 at the first product that uses it, which it cannot do inside a scan: the
    quantizing call runs ``jax.lax.scan`` as a Python loop (its outputs are thrown away)."""
    with mock.patch.object(jax.lax, "scan", _python_scan):
        yield


def _python_scan(step, carry, xs, length=None, **_):
    outputs = []
    for index in range(length if xs is None else jax.tree.leaves(xs)[0].shape[0]):
        carry, output = step(carry, None if xs is None else jax.tree.map(lambda x, i=index: x[i], xs))
        outputs.append(output)
    return carry, jax.tree.map(lambda *steps: jnp.stack(steps), *outputs)
