"""Hugging Face BERT checkpoint tensors mapped onto ``modeling``'s modules.

Names differ (``encoder.layer.3.attention.self.query.weight`` is ``layers.3.attention.query.kernel``)
and PyTorch's ``Linear`` keeps its weight as [out, in], which nnx keeps as [in, out]: those are
transposed. A checkpoint of the pre-training model (``bert.`` prefix, ``cls.`` heads) loads too.
Every weight the module has must be in the file with its shape, and every tensor of the file must
be one of them or one of the ignored ones; anything else is one line naming the tensor.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from flax import nnx
from safetensors import SafetensorError, safe_open

from flaxline.errors import InputError
from flaxline.models.base import nested_state

# (checkpoint name, module path, transposed): the first rule that matches renames a tensor.
RULES = [
    (r"embeddings\.word_embeddings\.weight", "embeddings.embed.embedding", False),
    (r"embeddings\.(position|token_type)_embeddings\.weight", r"embeddings.\1_embeddings.embedding", False),
    (r"embeddings\.LayerNorm\.(weight|gamma)", "embeddings.norm.scale", False),
    (r"embeddings\.LayerNorm\.(bias|beta)", "embeddings.norm.bias", False),
    (r"encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.weight", r"layers.\1.attention.\2.kernel", True),
    (r"encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.bias", r"layers.\1.attention.\2.bias", False),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.weight", r"layers.\1.attention.output.kernel", True),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.bias", r"layers.\1.attention.output.bias", False),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(weight|gamma)", r"layers.\1.attention.norm.scale", False),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(bias|beta)", r"layers.\1.attention.norm.bias", False),
    (r"encoder\.layer\.(\d+)\.(intermediate|output)\.dense\.weight", r"layers.\1.\2.kernel", True),
    (r"encoder\.layer\.(\d+)\.(intermediate|output)\.dense\.bias", r"layers.\1.\2.bias", False),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(weight|gamma)", r"layers.\1.norm.scale", False),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(bias|beta)", r"layers.\1.norm.bias", False),
    (r"pooler\.dense\.weight", "pooler.dense.kernel", True),
    (r"pooler\.dense\.bias", "pooler.dense.bias", False),
]
# Saved buffers and pre-training heads: in many checkpoints, never weights of the encoder.
IGNORED = re.compile(r"embeddings\.position_ids|cls\..*")


def module_name(name: str) -> tuple[str, bool] | None:
    """The module path of checkpoint tensor ``name`` and whether it is transposed; None for an ignored one."""
    name = name.removeprefix("bert.")
    for pattern, target, transposed in RULES:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, target, name), transposed
    if IGNORED.fullmatch(name):
        return None
    raise InputError(f"tensor '{name}' is not part of a BERT encoder")


def read_tensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file by checkpoint name, as numpy arrays; a file of any other format is refused."""
    try:
        with safe_open(str(path), framework="np") as opened:
            return {name: opened.get_tensor(name) for name in opened.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError) as error:
        raise InputError(f"{path}: not a readable safetensors file ({error})") from None


def read_tensor(path: Path, name: str) -> np.ndarray:
    """Tensor ``name`` (or ``bert.`` + ``name``) of the safetensors file ``path``; one line when it is not there."""
    try:
        with safe_open(str(path), framework="np") as opened:
            for stored in (name, f"bert.{name}"):
                if stored in opened.keys():  # noqa: SIM118 (not a dict)
                    return opened.get_tensor(stored)
    except (SafetensorError, OSError) as error:
        raise InputError(f"{path}: not a readable safetensors file ({error})") from None
    raise InputError(f"{path}: no tensor '{name}'")


def load_checkpoint(
    tensors: dict[str, np.ndarray], source: str, encoder: nnx.Module, pooler: nnx.Module | None
) -> None:
    """Set the parameters of ``encoder`` (a ``BertEncoder``) and of ``pooler``, if any, from checkpoint ``tensors``;
    ``source`` names the file in errors. The checkpoint's pooler is skipped when there is no ``pooler``."""
    modules = {"": encoder} | ({"pooler.": pooler} if pooler is not None else {})
    expected = {
        prefix + ".".join(map(str, path)): variable.shape
        for prefix, module in modules.items()
        for path, variable in nnx.to_flat_state(nnx.state(module, nnx.Param))
    }
    renamed: dict[str, np.ndarray] = {}
    for name, tensor in tensors.items():
        try:
            mapped = module_name(name)
        except InputError as error:
            raise InputError(f"{source}: {error}") from None
        if mapped is None or (pooler is None and mapped[0].startswith("pooler.")):
            continue
        target, transposed = mapped
        if target not in expected:
            raise InputError(f"{source}: tensor '{name}' has no place in this architecture ({target})")
        renamed[target] = tensor.T if transposed else tensor
        if renamed[target].shape != expected[target]:
            raise InputError(
                f"{source}: tensor '{name}' is {list(tensor.shape)}, the architecture has "
                f"{list(expected[target][::-1] if transposed else expected[target])}"
            )
    missing = sorted(set(expected) - set(renamed))
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InputError(f"{source}: no tensor for '{missing[0]}'{more}")
    for prefix, module in modules.items():
        state = nnx.state(module, nnx.Param)
        own = {
            name.removeprefix(prefix): np.asarray(value, np.float32)
            for name, value in renamed.items()
            if name.startswith(prefix) and (prefix or not name.startswith("pooler."))
        }
        nnx.replace_by_pure_dict(state, nested_state(own))
        nnx.update(module, state)
