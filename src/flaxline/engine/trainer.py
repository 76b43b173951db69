"""The generic trainer: one jit-compiled train step for any model of the zoo.

The model is split once into a static graph and array state; the step is a pure function
of arrays (parameters, other state, optimizer state, batch), compiled with ``jax.jit`` and
donating its state buffers, so no Python object crosses the compiled boundary per step.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from flaxline.engine.batching import (
    EncodedSplit,
    bucketed_batches,
    iterate_batches,
    sequential_batches,
    steps_per_epoch,
)
from flaxline.engine.checkpoints import TrainingCheckpoints
from flaxline.engine.optim import averaged_parameters, with_parameter_average
from flaxline.engine.progress import EpochProgress
from flaxline.engine.sharding import batch_mesh, replicate, shard_batch
from flaxline.errors import InputError, TrainingDiverged
from flaxline.models.ensemble import log_mean_probability

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    patience: int | None = 3
    min_delta: float = 0.0
    # What early stopping watches and the kept epoch is best at: validation_loss (lowest) or
    # validation_accuracy (highest). Loss can rise from growing confidence while accuracy still does.
    monitor: str = "validation_loss"
    length_multiple: int = 8
    # Batches per window sorted by length before batching (0: plain shuffled batches).
    bucket_window_batches: int = 0
    eval_batch_size: int = 256
    progress_every_steps: int = 50
    # "balanced" weighs each class's loss by n / (classes · n_class), as scikit-learn does.
    class_weights: str | None = None
    # Split each batch over every local device (parameters replicated); the batch must divide evenly.
    data_parallel: bool = False
    # bfloat16 runs the forward and backward passes in bf16 on fp32 parameters (for accelerators, and
    # CPUs with bf16 dot units); the `lstm` model keeps its gates and state in fp32.
    compute_dtype: str = "float32"
    # A non-finite loss either stops training ("stop") or its update is skipped ("skip", optax.apply_if_finite),
    # stopping only after more than max_consecutive_nonfinite such steps in a row.
    on_nonfinite: str = "stop"
    max_consecutive_nonfinite: int = 5
    # Polyak averaging: validate, and keep as the model, an exponential moving average of the parameters
    # with this decay per step (e.g. 0.999); null trains and keeps the parameters themselves.
    average_decay: float | None = None

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise InputError(f"unknown monitor '{self.monitor}'; known: {', '.join(MONITORS)}")
        if self.on_nonfinite not in ("stop", "skip"):
            raise InputError(f"unknown on_nonfinite '{self.on_nonfinite}'; known: stop, skip")
        if self.average_decay is not None and not 0.0 < self.average_decay < 1.0:
            raise InputError(f"average_decay must lie strictly between 0 and 1, not {self.average_decay}")
        _check_class_weights(self.class_weights)
        resolve_compute_dtype(self.compute_dtype)


COMPUTE_DTYPES = ("float32", "bfloat16", "float16")
# Each monitored record field, with the sign that makes higher better.
MONITORS = {"validation_loss": -1.0, "validation_accuracy": 1.0}


def resolve_compute_dtype(name: str) -> jnp.dtype:
    """The dtype named ``name``, one of ``COMPUTE_DTYPES``; any other name is a one-line error."""
    if name not in COMPUTE_DTYPES:
        raise InputError(f"compute_dtype must be one of {', '.join(COMPUTE_DTYPES)}, not {name!r}")
    return jnp.dtype(name)


def _in_dtype(model: nnx.Module, graphdef: nnx.GraphDef, dtype) -> nnx.Module:
    """``model`` with its floating-point parameters cast to ``dtype`` (gradients flow back through the cast)."""
    if dtype == jnp.float32:
        return model
    _, params, rest = nnx.split(model, nnx.Param, ...)
    cast = jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)
    return nnx.merge(graphdef, cast, rest)


def _check_class_weights(scheme: str | None) -> None:
    if scheme not in (None, "balanced"):
        raise InputError(f"unknown class_weights '{scheme}'; known: balanced, null")


def class_weight_vector(labels: np.ndarray, num_classes: int, scheme: str | None) -> np.ndarray:
    """Per-class loss weights: all ones, or ``balanced`` (inverse class frequency, mean weight per example 1)."""
    _check_class_weights(scheme)
    if scheme is None:
        return np.ones(num_classes, dtype=np.float32)
    counts = np.bincount(labels, minlength=num_classes).astype(np.float32)
    return (len(labels) / (num_classes * np.maximum(counts, 1.0))).astype(np.float32)


def make_train_step(
    graphdef: nnx.GraphDef, tx: optax.GradientTransformation, class_weights: np.ndarray, compute_dtype: str = "float32"
):
    """A compiled step: (params, rest, opt_state, batch arrays) → updated state and its sums.

    The sums are [loss·w, correct·w, w, non-finite]: a step with a non-finite loss adds only its flag.
    ``weights`` marks real rows (1) and filler rows (0); the loss is also weighed per class.
    """
    class_weights = jnp.asarray(class_weights)
    dtype = resolve_compute_dtype(compute_dtype)

    def step(params, rest, opt_state, ids, lengths, labels, weights):
        model = nnx.merge(graphdef, params, rest)
        loss_weights = weights * class_weights[labels]

        def loss_fn(model):
            computing = _in_dtype(model, graphdef, dtype)
            logits = computing(ids, lengths).astype(jnp.float32)
            if computing is not model:  # carry RNG counters (dropout) back to the fp32 model
                nnx.update(model, nnx.state(computing, nnx.Not(nnx.Param)))
            if logits.ndim == 2:  # one model; an ensemble gives its members' logits [members, B, C]
                logits = logits[None]
            # Each member follows the gradient of its own loss: the objective is their sum.
            member_losses = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.broadcast_to(labels, logits.shape[:-1]))
            return jnp.sum(member_losses.sum(axis=0) * loss_weights) / jnp.maximum(jnp.sum(loss_weights), 1e-9), logits

        (_, logits), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        _, params, rest = nnx.split(model, nnx.Param, ...)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        # The reported loss and accuracy are those of the prediction (for an ensemble, its members' mean probability).
        log_probabilities = log_mean_probability(logits)
        total = -jnp.sum(jnp.take_along_axis(log_probabilities, labels[:, None], axis=-1)[:, 0] * weights)
        correct = jnp.sum((jnp.argmax(log_probabilities, axis=-1) == labels) * weights)
        finite = jnp.isfinite(total)
        sums = jnp.where(finite, jnp.stack([total, correct, jnp.sum(weights)]), 0.0)
        return params, rest, opt_state, jnp.append(sums, 1.0 - finite)

    return jax.jit(step, donate_argnums=(0, 1, 2))


def make_forward(graphdef: nnx.GraphDef, compute_dtype: str = "float32"):
    """A compiled forward pass: (params, rest, ids, lengths) → float32 logits."""
    dtype = resolve_compute_dtype(compute_dtype)

    def forward(params, rest, ids, lengths):
        return _in_dtype(nnx.merge(graphdef, params, rest), graphdef, dtype)(ids, lengths).astype(jnp.float32)

    return jax.jit(forward)


def batched_logits(
    forward, params, rest, ids: np.ndarray, lengths: np.ndarray, batch_size: int, length_multiple: int = 8, place=None
) -> np.ndarray:
    """Logits for every row, computed in batches of similar length (sorted), returned in input order.

    ``place`` puts each batch's arrays where the parameters are (see ``engine.sharding``).
    """
    place = place or (lambda arrays: arrays)
    order = np.argsort(lengths, kind="stable")
    data = EncodedSplit(ids, lengths, np.zeros(len(lengths), dtype=np.int32))
    outputs = [
        forward(params, rest, *place((batch.ids, batch.lengths)))
        for batch in iterate_batches(data, sequential_batches(order, batch_size), batch_size, length_multiple)
    ]
    logits = np.concatenate(jax.device_get(outputs))[: len(order)]
    result = np.empty_like(logits)
    result[order] = logits
    return result


def predict_logits(
    model: nnx.Module, ids: np.ndarray, lengths: np.ndarray, batch_size: int = 256, length_multiple: int = 8, compute_dtype: str = "float32"
) -> np.ndarray:
    """Logits of ``model`` (in evaluation mode) for every row.

    A model may offer ``for_inference()``: an equivalent copy that is cheaper to evaluate.
    ``compute_dtype`` as in ``TrainingConfig``: bfloat16 rounds the parameters for the forward pass.
    """
    model = model.for_inference() if hasattr(model, "for_inference") else model
    model.eval()
    # Arrays loaded from files are numpy: put them on the device once, not at every call.
    graphdef, params, rest = jax.device_put(nnx.split(model, nnx.Param, ...))
    return batched_logits(make_forward(graphdef, compute_dtype), params, rest, ids, lengths, batch_size, length_multiple)


def _count_nonfinite(flags: np.ndarray, epoch: int, steps_before: int, consecutive: int, allowed: int) -> int:
    """The length of the current run of non-finite steps; raises, naming where, once it exceeds ``allowed``."""
    for offset, flag in enumerate(flags, 1):
        consecutive = consecutive + 1 if flag else 0
        if consecutive > allowed:
            raise TrainingDiverged(
                f"training diverged: non-finite loss at epoch {epoch}, step {steps_before + offset}"
                + (f" ({consecutive} in a row)" if allowed else "")
                + "; lower the learning rate or clip gradients"
            )
    return consecutive


def _loss_and_accuracy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(labels)), labels].mean()
    return float(loss), float((logits.argmax(axis=1) == labels).mean())


def fit(
    model: nnx.Module,
    tx: optax.GradientTransformation,
    train: EncodedSplit,
    validation: EncodedSplit,
    config: TrainingConfig,
    checkpoints: TrainingCheckpoints | None = None,
) -> list[dict]:
    """Train ``model`` in place; early stopping on ``config.monitor`` restores the best epoch's parameters.

    With ``checkpoints``, the loop continues from the newest checkpoint there, if any, and writes
    new ones as it goes; the result is the same as that of an uninterrupted run.
    Returns one record per epoch: train and validation loss and accuracy, skipped (non-finite)
    steps, the seconds of the training pass and of the whole epoch (validation included).
    """
    allowed_nonfinite = config.max_consecutive_nonfinite if config.on_nonfinite == "skip" else 0
    if allowed_nonfinite:
        tx = optax.apply_if_finite(tx, max_consecutive_errors=allowed_nonfinite)
    if config.average_decay:
        tx = with_parameter_average(tx, config.average_decay)
        average_of = jax.jit(partial(averaged_parameters, decay=config.average_decay))

    def evaluated(params, opt_state):
        """What validation sees and early stopping keeps: the parameters, or their average."""
        return average_of(opt_state) if config.average_decay else params
    model.eval()
    eval_graphdef = nnx.graphdef(model)
    model.train()
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    opt_state = tx.init(params)
    place = None
    if config.data_parallel:
        mesh = batch_mesh(config.batch_size)
        params, rest, opt_state = replicate((params, rest, opt_state), mesh)
        place = partial(shard_batch, mesh=mesh)
        logger.info("data parallel over %d devices", mesh.size)
    forward = make_forward(eval_graphdef, config.compute_dtype)
    num_classes = jax.eval_shape(forward, params, rest, train.ids[:1], train.lengths[:1]).shape[-1]
    train_step = make_train_step(
        graphdef, tx, class_weight_vector(train.labels, num_classes, config.class_weights), config.compute_dtype
    )
    rng = np.random.default_rng(config.seed)
    steps = steps_per_epoch(len(train), config.batch_size, config.bucket_window_batches)

    history: list[dict] = []
    best_score, best_params, since_best = -np.inf, None, 0
    start_epoch, steps_done, restored_sums, consecutive_nonfinite = 1, 0, [], 0
    restored = checkpoints.restore_latest({"state": (params, rest, opt_state), "best": params}) if checkpoints else None
    if restored is not None:
        arrays, loop = restored
        params, rest, opt_state = arrays["state"]
        best_params = jax.device_get(arrays["best"]) if loop["has_best"] else None
        start_epoch, steps_done = loop["epoch"], loop["steps_done"]
        rng.bit_generator.state = loop["epoch_rng"]
        restored_sums = [np.asarray(row, dtype=np.float32) for row in loop["sums"]]
        history, since_best = loop["history"], loop["since_best"]
        best_score = -np.inf if loop["best_score"] is None else loop["best_score"]
        consecutive_nonfinite = loop["consecutive_nonfinite"]

    def save_checkpoint(epoch: int, done: int, epoch_rng: dict, sums: list) -> None:
        """Checkpoint the loop as it stands before step ``done + 1`` of ``epoch`` (the arrays copied to the host first)."""
        state = jax.device_get((params, rest, opt_state))
        # An update can make the parameters non-finite before any loss shows it: such a state is never a checkpoint.
        if not all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(state[0])):
            where = f"epoch {epoch}, step {done}" if done else f"epoch {epoch - 1}, step {steps}"
            raise TrainingDiverged(f"training diverged: non-finite parameters after {where}; lower the learning rate or clip gradients")
        checkpoints.save(
            (epoch - 1) * steps + done,
            {"state": state, "best": state[0] if best_params is None else best_params},
            {
                "epoch": epoch,
                "steps_done": done,
                "epoch_rng": epoch_rng,
                "sums": np.asarray(jax.device_get(sums), dtype=np.float32).reshape(-1, 4).tolist(),
                "history": history,
                "best_score": None if np.isinf(best_score) else float(best_score),
                "since_best": since_best,
                "has_best": best_params is not None,
                "consecutive_nonfinite": consecutive_nonfinite,
            },
        )

    with EpochProgress(config.epochs, steps) as progress:
        for epoch in range(start_epoch, config.epochs + 1):
            started = time.perf_counter()
            progress.start_epoch(epoch)
            epoch_rng = rng.bit_generator.state
            order = rng.permutation(len(train))
            if config.bucket_window_batches:
                batches = bucketed_batches(train.lengths, order, config.batch_size, config.bucket_window_batches, rng)
            else:
                batches = sequential_batches(order, config.batch_size)
            sums, synced = restored_sums, steps_done
            remaining = iterate_batches(train, batches[steps_done:], config.batch_size, config.length_multiple)
            for step, batch in enumerate(remaining, steps_done + 1):
                arrays = (batch.ids, batch.lengths, batch.labels, batch.weights)
                params, rest, opt_state, batch_sums = train_step(params, rest, opt_state, *(place(arrays) if place else arrays))
                sums.append(batch_sums)
                checkpoint_due = checkpoints is not None and checkpoints.due(step) and step < steps
                if step % config.progress_every_steps == 0 or step == steps or checkpoint_due:
                    # The losses are checked before a checkpoint is written, so every checkpoint is a good one.
                    window = np.asarray(jax.device_get(sums[synced:step]))
                    consecutive_nonfinite = _count_nonfinite(window[:, 3], epoch, synced, consecutive_nonfinite, allowed_nonfinite)
                    total, correct, count, _ = window.sum(axis=0)
                    progress.advance(step, total / max(count, 1.0), correct / max(count, 1.0))
                    synced = step
                else:
                    progress.advance(step)
                if checkpoint_due:
                    save_checkpoint(epoch, step, epoch_rng, sums)
            steps_done, restored_sums = 0, []
            total, correct, count, skipped = np.sum(jax.device_get(sums), axis=0)
            train_seconds = time.perf_counter() - started
            evaluated_params = evaluated(params, opt_state)
            val_logits = batched_logits(
                forward, evaluated_params, rest, validation.ids, validation.lengths, config.eval_batch_size, config.length_multiple, place
            )
            val_loss, val_accuracy = _loss_and_accuracy(val_logits, validation.labels)
            record = {
                "epoch": epoch,
                "train_loss": float(total / count),
                "train_accuracy": float(correct / count),
                "validation_loss": val_loss,
                "validation_accuracy": val_accuracy,
                "skipped_steps": int(skipped),
                "train_seconds": train_seconds,
                "seconds": time.perf_counter() - started,
            }
            history.append(record)
            logger.info(
                "epoch %d/%d: train loss %.4f acc %.4f, validation loss %.4f acc %.4f (%.1f s)",
                epoch, config.epochs, record["train_loss"], record["train_accuracy"], val_loss, val_accuracy, record["seconds"],
            )
            if skipped:
                logger.warning("epoch %d: skipped %d updates with a non-finite loss", epoch, int(skipped))
            score = MONITORS[config.monitor] * record[config.monitor]
            # A non-finite validation loss never counts as best, whatever is monitored.
            if np.isfinite(val_loss) and score > best_score + config.min_delta:
                best_score, best_params, since_best = score, jax.device_get(evaluated_params), 0
            else:
                since_best += 1
                if config.patience is not None and since_best >= config.patience:
                    logger.info("early stopping after epoch %d: no validation improvement for %d epochs", epoch, since_best)
                    break
            if checkpoints is not None and epoch < config.epochs:
                save_checkpoint(epoch + 1, 0, rng.bit_generator.state, [])
    if best_params is None:
        raise TrainingDiverged("training diverged: no epoch had a finite validation loss; lower the learning rate or clip gradients")
    nnx.update(model, jax.device_put(best_params), rest)
    model.eval()
    return history
