"""The training loop: epochs of compiled steps, validation after each, early stopping, checkpoints.

Everything a run changes lives in one ``LoopState``, which is what a checkpoint holds: its arrays
as one pytree, the rest as JSON, so a new piece of state is checkpointed by being a field. A
run continued from a checkpoint ends exactly as an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Literal, get_type_hints

import jax
import numpy as np
import optax
from flax import nnx
from pydantic import Field, NonNegativeInt, PositiveInt

from flaxline.config import Settings
from flaxline.engine.batching import LENGTH_MULTIPLE, Arrays, Batching
from flaxline.engine.checkpoints import TrainingCheckpoints
from flaxline.engine.devices import Placement, Platform, resolve_placement
from flaxline.engine.inference import ComputeChoice
from flaxline.engine.optim import averaged_parameters, with_parameter_average
from flaxline.engine.prefetch import prefetched
from flaxline.engine.progress import EpochProgress
from flaxline.engine.step import make_eval_step, make_train_step
from flaxline.errors import TrainingDiverged
from flaxline.losses import DIRECTIONS, LossFn

logger = logging.getLogger(__name__)


class LoopSpec(Settings):
    """Epochs, batches, early stopping and how the steps compute."""

    epochs: PositiveInt = 10
    batch_size: PositiveInt = 64
    seed: int = Field(0, description="initialisation and data order")
    patience: PositiveInt | None = Field(
        2, description="epochs without a better monitored value before stopping; null: run every epoch"
    )
    min_delta: float = Field(0.0, ge=0.0, description="the least change that counts as better")
    monitor: Literal["validation_loss", "validation_accuracy", "validation_absolute_error"] = Field(
        "validation_loss",
        description="what early stopping watches and the kept epoch is best at: validation_loss or "
        "validation_absolute_error (lowest), validation_accuracy (highest)",
    )
    length_multiple: PositiveInt = Field(
        LENGTH_MULTIPLE, description="sequence batches are cut to their longest sequence, rounded up to this"
    )
    bucket_window_batches: NonNegativeInt = Field(
        100, description="sort each window of this many batches by length (0: plain shuffle)"
    )
    eval_batch_size: PositiveInt = 256
    progress_every_steps: PositiveInt = 50
    device: Platform = Field("auto", description="auto: the accelerator JAX finds (a GPU or TPU), else the CPU")
    data_parallel: bool | Literal["auto"] = Field(
        "auto",
        description="split each batch over every local device (the batch must divide evenly); "
        "auto: when there are several",
    )
    compute_dtype: ComputeChoice = Field(
        "auto",
        description="bfloat16: forward and backward passes in bf16 on fp32 parameters (the lstm keeps fp32 gates "
        "and state); auto: bfloat16 on accelerators, float32 on CPUs",
    )
    prefetch_batches: NonNegativeInt | Literal["auto"] = Field(
        "auto",
        description="batches a background thread cuts and places on the devices ahead of the step (0: none); "
        "auto: 2 on accelerators, none on CPUs, where the host is the device",
    )
    on_nonfinite: Literal["stop", "skip"] = Field(
        "stop",
        description="skip: a non-finite update is skipped (optax.apply_if_finite), "
        "stopping after max_consecutive_nonfinite in a row",
    )
    max_consecutive_nonfinite: PositiveInt = 5
    average_decay: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="Polyak averaging: validate and keep a moving average of the parameters with this decay per step",
    )

    def placement(self) -> Placement:
        """Where and in what dtype this loop computes on this machine (``flaxline.engine.devices``)."""
        return resolve_placement(
            self.device, self.compute_dtype, self.data_parallel, self.batch_size, self.eval_batch_size
        )

    def batching(self, token_arrays: tuple[str, ...]) -> Batching:
        """How training batches are cut from arrays whose per-token ones are ``token_arrays``."""
        return Batching(self.batch_size, token_arrays, self.length_multiple, self.bucket_window_batches)


@dataclass(frozen=True)
class TrainingData:
    """A task's training and validation arrays, and which of them are per-token (cut to each batch's longest
    sequence)."""

    train: Arrays
    validation: Arrays
    token_arrays: tuple[str, ...] = ()

    def arrays(self) -> Arrays:
        """Every array, named by its split (``train.ids``): what a run's fingerprint reads."""
        return {
            f"{split}.{name}": array
            for split in ("train", "validation")
            for name, array in getattr(self, split).items()
        }


@dataclass(frozen=True)
class Losses:
    """The loss the train step minimises, and the one validation reports (they differ for ensembles)."""

    train: LossFn
    evaluate: LossFn


@dataclass
class EarlyStopping:
    """Keeps the epoch whose ``monitor`` is best; stops after ``patience`` epochs in a row without a better one."""

    monitor: str
    patience: int | None
    min_delta: float = 0.0
    best_score: float | None = None  # the kept epoch's value, signed so that higher is better
    since_best: int = 0

    def improved(self, record: dict[str, Any]) -> bool:
        """Whether the epoch of ``record`` is the best so far; otherwise one more epoch since the best."""
        score = DIRECTIONS[self.monitor.removeprefix("validation_")] * record[self.monitor]
        # A non-finite validation loss never counts as best, whatever is monitored.
        if np.isfinite(record["validation_loss"]) and (
            self.best_score is None or score > self.best_score + self.min_delta
        ):
            self.best_score, self.since_best = float(score), 0
            return True
        self.since_best += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.since_best >= self.patience


@dataclass
class NonFiniteGuard:
    """Ends training at a non-finite loss, or, with ``allowed`` > 0, only after more than that many in a row."""

    allowed: int
    consecutive: int = 0

    def check(self, nonfinite: list[float], epoch: int, steps_before: int) -> None:
        """Count the run of non-finite steps among ``nonfinite`` (flags of the steps after ``steps_before``);
        raise past ``allowed``."""
        for offset, flag in enumerate(nonfinite, 1):
            self.consecutive = self.consecutive + 1 if flag else 0
            if self.consecutive > self.allowed:
                raise TrainingDiverged(
                    f"training diverged: non-finite loss at epoch {epoch}, step {steps_before + offset}"
                    + (f" ({self.consecutive} in a row)" if self.allowed else "")
                    + "; lower the learning rate or clip gradients"
                )


ARRAYS = {"checkpoint": "arrays"}


@dataclass
class LoopState:
    """Everything a run changes. A checkpoint holds all of it: the fields marked ``ARRAYS`` as one pytree, the rest
    as JSON."""

    params: Any = field(metadata=ARRAYS)
    rest: Any = field(metadata=ARRAYS)  # other model state: dropout RNG counters, ...
    opt_state: Any = field(metadata=ARRAYS)
    best: Any = field(metadata=ARRAYS)  # what the kept epoch validated: the parameters, or their average
    stopping: EarlyStopping
    guard: NonFiniteGuard
    epoch: int = 1
    steps_done: int = 0  # steps of ``epoch`` already run
    epoch_rng: Mapping[str, Any] | None = None  # the data-order RNG as it was when ``epoch`` drew its batches
    sums: list[dict] = field(default_factory=list)  # each step's metric sums in ``epoch`` so far
    history: list[dict] = field(default_factory=list)

    def arrays(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata == ARRAYS}

    def progress(self) -> dict[str, Any]:
        """The JSON part: every other field, the step sums as plain numbers."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.metadata != ARRAYS}
        values = {
            name: dataclasses.asdict(value)
            if dataclasses.is_dataclass(value) and not isinstance(value, type)
            else value
            for name, value in values.items()
        }
        values["sums"] = [{name: float(value) for name, value in step.items()} for step in jax.device_get(self.sums)]
        return values

    @classmethod
    def restored(cls, arrays: dict[str, Any], progress: dict[str, Any]) -> LoopState:
        types = get_type_hints(cls)
        values = {
            name: types[name](**value) if dataclasses.is_dataclass(types[name]) else value
            for name, value in progress.items()
        }
        values["sums"] = [{name: np.float32(value) for name, value in step.items()} for step in values["sums"]]
        return cls(**arrays, **values)


def _totals(sums: list[dict]) -> dict[str, np.float32]:
    steps = jax.device_get(sums)
    return {name: np.sum(np.asarray([step[name] for step in steps], dtype=np.float32)) for name in steps[0]}


def _means(totals: dict[str, Any]) -> dict[str, float]:
    """Each metric's mean over the real rows, ``loss`` first."""
    count = totals["count"]
    names = sorted(
        (name for name in totals if name not in ("count", "nonfinite")), key=lambda name: (name != "loss", name)
    )
    return {name: float(totals[name] / count) if count else float("nan") for name in names}


def _loop_optimizer(tx: optax.GradientTransformation, spec: LoopSpec) -> tuple[optax.GradientTransformation, Callable]:
    """``tx`` with the loop's skipping of non-finite updates and parameter averaging; and what validation sees."""
    if spec.on_nonfinite == "skip":
        tx = optax.apply_if_finite(tx, max_consecutive_errors=spec.max_consecutive_nonfinite)
    if spec.average_decay is None:
        return tx, lambda params, opt_state: params
    average_of = jax.jit(partial(averaged_parameters, decay=spec.average_decay))
    return with_parameter_average(tx, spec.average_decay), lambda params, opt_state: average_of(opt_state)


def _save(checkpoints: TrainingCheckpoints, state: LoopState, steps: int) -> None:
    """Checkpoint the loop as it stands before step ``state.steps_done + 1`` of ``state.epoch``."""
    # An update can make the parameters non-finite before any loss shows it: such a state is never a checkpoint.
    if not all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(jax.device_get(state.params))):
        where = (
            f"epoch {state.epoch}, step {state.steps_done}"
            if state.steps_done
            else f"epoch {state.epoch - 1}, step {steps}"
        )
        raise TrainingDiverged(
            f"training diverged: non-finite parameters after {where}; lower the learning rate or clip gradients"
        )
    checkpoints.save((state.epoch - 1) * steps + state.steps_done, state.arrays(), state.progress())


@dataclass
class _Run:
    """What one call of ``fit`` compiled and chose once: the steps, the batching, where batches go."""

    spec: LoopSpec
    data: TrainingData
    train_step: Callable
    eval_step: Callable
    evaluated: Callable
    place: Callable
    ahead: int  # batches prefetched
    checkpoints: TrainingCheckpoints | None

    @cached_property
    def batching(self) -> Batching:
        return self.spec.batching(self.data.token_arrays)

    @cached_property
    def steps(self) -> int:
        return self.batching.steps(self.data.train)

    def train_epoch(self, state: LoopState, rng: np.random.Generator, progress: EpochProgress) -> dict[str, Any]:
        """Run the rest of ``state.epoch``'s steps, checkpointing as due; the epoch's metric totals."""
        state.epoch_rng = rng.bit_generator.state
        indices = self.batching.epoch(self.data.train, rng)
        synced = state.steps_done
        batches = prefetched(self.batching.batches(self.data.train, indices[synced:]), self.place, self.ahead)
        for step, batch in enumerate(batches, synced + 1):
            state.params, state.rest, state.opt_state, sums = self.train_step(
                state.params, state.rest, state.opt_state, batch
            )
            state.sums.append(sums)
            checkpoint_due = self.checkpoints is not None and self.checkpoints.due(step) and step < self.steps
            if step % self.spec.progress_every_steps == 0 or step == self.steps or checkpoint_due:
                # The losses are checked before a checkpoint is written, so every checkpoint is a good one.
                window = jax.device_get(state.sums[synced:step])
                state.guard.check([window_step["nonfinite"] for window_step in window], state.epoch, synced)
                progress.advance(step, _means(_totals(window)))
                synced = step
            else:
                progress.advance(step)
            if checkpoint_due and self.checkpoints is not None:
                state.steps_done = step
                _save(self.checkpoints, state, self.steps)
        return _totals(state.sums)

    def validate(self, params: Any, rest: Any) -> dict[str, float]:
        """The loss's metrics on the validation split, each a mean over its rows."""
        batching = Batching(self.spec.eval_batch_size, self.data.token_arrays, self.spec.length_multiple)
        batches = batching.batches(self.data.validation, batching.in_length_order(self.data.validation))
        placed = prefetched(batches, self.place, self.ahead)
        return _means(_totals([self.eval_step(params, rest, batch) for batch in placed]))


def fit(
    model: nnx.Module,
    tx: optax.GradientTransformation,
    data: TrainingData,
    spec: LoopSpec,
    losses: Losses,
    placement: Placement,
    checkpoints: TrainingCheckpoints | None = None,
) -> list[dict]:
    """Train ``model`` in place on ``placement``; early stopping on ``spec.monitor`` keeps the best epoch's parameters.

    With ``checkpoints``, the loop continues from the newest checkpoint there, if any, and writes
    new ones as it goes. Returns one record per epoch: the loss's metrics on train and validation
    (``train_loss``, ``validation_accuracy``, ...), skipped (non-finite) steps, and the seconds of
    the training pass and of the whole epoch.
    """
    tx, evaluated = _loop_optimizer(tx, spec)
    model.eval()
    eval_graphdef = nnx.graphdef(model)
    model.train()
    # nnx.split is typed as returning tuple[GraphDef, State, *tuple[State, ...]]: mypy will not unpack it
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)  # type: ignore[misc]
    params, rest, opt_state = placement.put((params, rest, tx.init(params)))
    guard = NonFiniteGuard(spec.max_consecutive_nonfinite if spec.on_nonfinite == "skip" else 0)
    state = LoopState(
        params,
        rest,
        opt_state,
        jax.device_get(params),
        EarlyStopping(spec.monitor, spec.patience, spec.min_delta),
        guard,
    )
    rng = np.random.default_rng(spec.seed)
    restored = checkpoints.restore_latest(state.arrays()) if checkpoints else None
    if restored is not None:
        state = LoopState.restored(*restored)
        assert state.epoch_rng is not None  # recorded before any checkpoint is written
        rng.bit_generator.state = state.epoch_rng
    run = _Run(
        spec,
        data,
        make_train_step(graphdef, tx, losses.train, placement.compute_dtype),
        make_eval_step(eval_graphdef, losses.evaluate, placement.compute_dtype),
        evaluated,
        placement.put_batch,
        placement.batches_ahead(spec.prefetch_batches),
        checkpoints,
    )
    with EpochProgress(spec.epochs, run.steps) as progress:
        while state.epoch <= spec.epochs:
            started = time.perf_counter()
            progress.start_epoch(state.epoch)
            totals = run.train_epoch(state, rng, progress)
            train_seconds = time.perf_counter() - started
            validated = evaluated(state.params, state.opt_state)
            record = {
                "epoch": state.epoch,
                **{f"train_{name}": value for name, value in _means(totals).items()},
                **{f"validation_{name}": value for name, value in run.validate(validated, state.rest).items()},
                "skipped_steps": int(totals["nonfinite"]),
                "train_seconds": train_seconds,
                "seconds": time.perf_counter() - started,
            }
            state.history.append(record)
            _log_epoch(record, spec.epochs)
            if state.stopping.improved(record):
                state.best = jax.device_get(validated)
            elif state.stopping.should_stop:
                logger.info(
                    "early stopping after epoch %d: no better %s for %d epochs",
                    state.epoch,
                    spec.monitor,
                    state.stopping.since_best,
                )
                break
            state.epoch, state.steps_done, state.sums = state.epoch + 1, 0, []
            if checkpoints is not None and state.epoch <= spec.epochs:
                state.epoch_rng = rng.bit_generator.state
                _save(checkpoints, state, run.steps)
    if state.stopping.best_score is None:
        raise TrainingDiverged(
            "training diverged: no epoch had a finite validation loss; lower the learning rate or clip gradients"
        )
    nnx.update(model, jax.device_put(state.best), state.rest)
    model.eval()
    return state.history


def _log_epoch(record: dict[str, Any], epochs: int) -> None:
    metrics = ", ".join(
        f"{name} {value:.4f}"
        for name, value in record.items()
        if name.startswith(("train_", "validation_")) and name != "train_seconds"
    )
    logger.info("epoch %d/%d: %s (%.1f s)", record["epoch"], epochs, metrics, record["seconds"])
    if record["skipped_steps"]:
        logger.warning("epoch %d: skipped %d updates with a non-finite loss", record["epoch"], record["skipped_steps"])
