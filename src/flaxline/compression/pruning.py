"""Magnitude pruning, then a short fine-tune through the engine.

Unstructured: in every weight matrix (the embedding tables too, unless ``embeddings`` is false) the ``sparsity``
share of entries of least magnitude is set to zero, gradually over the first part of the fine-tune (Zhu and Gupta,
2017), and kept zero after. Structured: whole units go, so that the
model is smaller and faster, not only sparser: an ``lstm``'s hidden units, a ``cnn``'s filters (the same number per
width), the feed-forward neurons of each ``transformer`` block or ``pretrained_encoder`` layer. A unit's importance
is the product of the norms of the weights that feed it and that it feeds; the least important ``fraction`` go,
and the model is rebuilt with narrower settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from pydantic import Field, PositiveInt

from flaxline.config import Settings
from flaxline.engine.loop import LoopSpec, Losses, TrainingData, fit
from flaxline.engine.optim import OptimizerSpec, build_optimizer
from flaxline.errors import InputError
from flaxline.losses import SoftmaxCrossEntropySpec, make_loss
from flaxline.models import ModelConfig, ZooModel, build_model
from flaxline.models.embedding import Constant


class FineTuneSpec(Settings):
    """The short training that follows pruning (on the task's training split, stopping on validation)."""

    optimizer: OptimizerSpec = Field(OptimizerSpec(learning_rate=0.0003), description="adam at 0.0003 unless set")
    loop: LoopSpec = Field(LoopSpec(epochs=1, patience=None), description="one epoch unless set")


class PruningSpec(Settings):
    """Unstructured magnitude pruning of every weight matrix."""

    sparsity: float = Field(0.5, gt=0.0, lt=1.0, description="share of each weight matrix's entries set to zero")
    embeddings: bool = Field(True, description="the embedding tables too (false: the layers' matrices only)")
    ramp: float = Field(
        0.5,
        ge=0.0,
        lt=1.0,
        description="share of the fine-tune's steps over which the sparsity rises to its target (cubic, Zhu and "
        "Gupta 2017); 0: all pruned before the first step",
    )
    every_steps: PositiveInt = Field(20, description="the masks are chosen anew every this many steps of the ramp")
    fine_tune: FineTuneSpec = FineTuneSpec()


class StructuredPruningSpec(Settings):
    """Structured pruning: whole LSTM units, convolution filters or feed-forward neurons."""

    fraction: float = Field(0.5, gt=0.0, lt=1.0, description="share of the units removed")
    fine_tune: FineTuneSpec = FineTuneSpec()


def magnitude_masks(params: Any, sparsity: Any, embeddings: bool = True) -> Any:
    """1 for the entries kept, 0 for the pruned: in each matrix (ndim ≥ 2; embedding tables, named ``embedding``,
    only if ``embeddings``) the ``sparsity`` share of least magnitude; every other parameter is kept whole."""

    def mask(path: tuple, parameter: jax.Array) -> jax.Array:
        table = "['embedding']" in jax.tree_util.keystr(path)
        if parameter.ndim < 2 or (table and not embeddings):
            return jnp.ones_like(parameter)
        threshold = jnp.quantile(jnp.abs(parameter), sparsity)
        return ((jnp.abs(parameter) > threshold) | (sparsity <= 0)).astype(parameter.dtype)

    return jax.tree_util.tree_map_with_path(mask, params)


class PruningState(NamedTuple):
    step: jax.Array
    masks: Any


def gradual_pruning(spec: PruningSpec, ramp_steps: int) -> optax.GradientTransformation:
    """After the optimizer: every ``every_steps`` steps of the ramp the masks are chosen anew, for a sparsity that
    rises as 1 − (1 − t)³ to ``spec.sparsity`` at ``ramp_steps``; a pruned entry's update takes it to zero, and
    keeps it there."""

    def init(params):
        return PruningState(jnp.zeros((), jnp.int32), jax.tree.map(jnp.ones_like, params))

    def update(updates, state, params):
        progress = jnp.minimum(state.step / max(ramp_steps, 1), 1.0)
        sparsity = spec.sparsity * (1.0 - (1.0 - progress) ** 3)
        anew = ((state.step % spec.every_steps == 0) | (state.step == ramp_steps)) & (state.step <= ramp_steps)
        proposed = optax.apply_updates(params, updates)
        masks = jax.lax.cond(anew, lambda: magnitude_masks(proposed, sparsity, spec.embeddings), lambda: state.masks)
        updates = jax.tree.map(
            lambda update, mask, parameter: jnp.where(mask > 0, update, -parameter), updates, masks, params
        )
        return updates, PruningState(state.step + 1, masks)

    return optax.GradientTransformation(init, update)


def unstructured(model: ZooModel, config: ModelConfig, spec: PruningSpec, data: TrainingData) -> list[dict]:
    """Prune ``model`` in place to ``spec.sparsity`` while fine-tuning it (``gradual_pruning``); the fine-tune's
    history. The fine-tune keeps its best epoch: the masks of the full sparsity are applied to it at the end."""
    steps = spec.fine_tune.loop.batching(data.token_arrays).steps(data.train) * spec.fine_tune.loop.epochs
    history = fine_tune(model, config, spec.fine_tune, data, gradual_pruning(spec, int(spec.ramp * steps)))
    params = nnx.state(model, nnx.Param)
    masks = magnitude_masks(params, spec.sparsity, spec.embeddings)
    nnx.update(model, jax.tree.map(lambda parameter, mask: parameter * mask, params, masks))
    return history


def fine_tune(
    model: ZooModel,
    config: ModelConfig,
    spec: FineTuneSpec,
    data: TrainingData,
    constraint: optax.GradientTransformation | None = None,
) -> list[dict]:
    """Train ``model`` in place with softmax cross-entropy as ``spec`` says (then ``constraint`` on the updates)."""
    loss = make_loss(SoftmaxCrossEntropySpec(), data.train, config.outputs)
    steps = spec.loop.batching(data.token_arrays).steps(data.train) * spec.loop.epochs
    tx = build_optimizer(spec.optimizer, total_steps=steps, depths=model.depths())
    if constraint is not None:
        tx = optax.chain(tx, constraint)
    losses = Losses(train=model.training_loss(loss), evaluate=loss)
    return fit(model, tx, data, spec.loop, losses, spec.loop.placement())


def structured(model: ZooModel, config: ModelConfig, fraction: float) -> tuple[ZooModel, ModelConfig]:
    """A narrower copy of ``model``: the least important ``fraction`` of its units removed (module docstring)."""
    name = config.model.name
    if name not in NARROWERS:
        raise InputError(
            f"compression: structured pruning applies to {', '.join(NARROWERS)}, not model '{name}'; "
            "leave pruned_structured out of compression.methods"
        )
    params = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    narrowed, update = NARROWERS[name](params, config.model.model_dump(), fraction)
    narrower = config.model_copy(update={"model": type(config.model).model_validate(update)})
    pruned = build_model(narrower)
    state = nnx.state(pruned, nnx.Param)
    nnx.replace_by_pure_dict(state, narrowed)
    nnx.update(pruned, state, nnx.state(model, Constant))
    return pruned, narrower


def _kept(importance: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the most important units, ``1 - fraction`` of them (at least one), in their original order."""
    keep = max(1, int(round(len(importance) * (1.0 - fraction))))
    return np.sort(np.argsort(-importance, kind="stable")[:keep])


def _norms(matrix: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    return np.sqrt((matrix.astype(np.float64) ** 2).sum(axis=axis))


def _lstm(params: dict, spec: dict, fraction: float) -> tuple[dict, dict]:
    """Hidden units of the packed LSTM kernel [E + H, 4H] (gates i, f, g, o) and the head's rows."""
    hidden, kernel = spec["hidden_dim"], params["lstm"]["kernel"]
    inputs = kernel.shape[0] - hidden
    gates = kernel.reshape(inputs + hidden, 4, hidden)
    importance = _norms(gates, (0, 1)) * (_norms(kernel[inputs:], 1) + _norms(params["head"]["kernel"], 1))
    kept = _kept(importance, fraction)
    columns = (np.arange(4)[:, None] * hidden + kept[None, :]).reshape(-1)
    rows = np.concatenate([np.arange(inputs), inputs + kept])
    narrowed = {
        **params,
        "lstm": {"kernel": kernel[rows][:, columns], "bias": params["lstm"]["bias"][columns]},
        "head": {**params["head"], "kernel": params["head"]["kernel"][kept]},
    }
    return narrowed, {**spec, "hidden_dim": len(kept)}


def _cnn(params: dict, spec: dict, fraction: float) -> tuple[dict, dict]:
    """The same number of filters of each width (their kernels [width, E, F]) and the head's rows."""
    filters, head = spec["filters"], params["head"]["kernel"]
    convolutions, head_rows = {}, []
    for index, convolution in params["convolutions"].items():
        rows = head[index * filters : (index + 1) * filters]
        kept = _kept(_norms(convolution["kernel"], (0, 1)) * _norms(rows, 1), fraction)
        convolutions[index] = {"kernel": convolution["kernel"][..., kept], "bias": convolution["bias"][kept]}
        head_rows.append(rows[kept])
    narrowed = {**params, "convolutions": convolutions, "head": {**params["head"], "kernel": np.concatenate(head_rows)}}
    return narrowed, {**spec, "filters": len(head_rows[0])}


def _feed_forward(names: tuple[str, str]) -> Callable[[dict, float], tuple[dict, int]]:
    """Narrows a block's feed-forward layers ``names`` (up [D, F], down [F, D]) to its most important neurons."""

    def narrowed(block: dict, fraction: float) -> tuple[dict, int]:
        up, down = block[names[0]], block[names[1]]
        kept = _kept(_norms(up["kernel"], 0) * _norms(down["kernel"], 1), fraction)
        block = {**block, names[0]: {"kernel": up["kernel"][:, kept], "bias": up["bias"][kept]}}
        return {**block, names[1]: {**down, "kernel": down["kernel"][kept]}}, len(kept)

    return narrowed


def _encoder(params: dict, spec: dict, fraction: float) -> tuple[dict, dict]:
    """The feed-forward neurons of each encoder layer (the same number in every layer)."""
    layers, width = _blocks(params["encoder"]["layers"], _feed_forward(("intermediate", "output")), fraction)
    architecture = {**spec["architecture"], "intermediate_size": width}
    return {**params, "encoder": {**params["encoder"], "layers": layers}}, {**spec, "architecture": architecture}


def _transformer(params: dict, spec: dict, fraction: float) -> tuple[dict, dict]:
    """The feed-forward neurons of each block (the same number in every block)."""
    blocks, width = _blocks(params["blocks"], _feed_forward(("mlp_in", "mlp_out")), fraction)
    return {**params, "blocks": blocks}, {**spec, "mlp_dim": width}


def _blocks(blocks: dict, narrow: Callable[[dict, float], tuple[dict, int]], fraction: float) -> tuple[dict, int]:
    narrowed = {index: narrow(block, fraction) for index, block in blocks.items()}
    return {index: block for index, (block, _) in narrowed.items()}, next(iter(narrowed.values()))[1]


NARROWERS: dict[str, Callable[[dict, dict, float], tuple[dict, dict]]] = {
    "lstm": _lstm,
    "cnn": _cnn,
    "transformer": _transformer,
    "pretrained_encoder": _encoder,
}
