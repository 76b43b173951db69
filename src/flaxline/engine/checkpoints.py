"""Orbax checkpoints of a training run, so that a run that dies is resumed rather than restarted.

A checkpoint holds a training loop's whole state (``flaxline.engine.loop.LoopState``): its
arrays as one pytree, the rest as JSON. Nothing is pickled.

Orbax writes each checkpoint into a temporary folder and renames it when complete, so a
checkpoint cut short by a crash is never listed, and is never restored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from pydantic import Field, NonNegativeInt, PositiveInt

from flaxline.config import Settings
from flaxline.errors import InputError

logger = logging.getLogger(__name__)


# Part of every fingerprint: a checkpoint written in another layout is never resumed. Change it with the layout.
FORMAT = "flaxline.checkpoint/3"


class CheckpointSpec(Settings):
    """Where and how often a training run checkpoints, so that a run that dies continues where it stopped."""

    directory: str | None = Field(
        "data/06_models/checkpoints",
        description="relative to the project; one folder per run fingerprint, deleted once the model is saved; "
        "null: off",
    )
    every_steps: NonNegativeInt = Field(500, description="and at every epoch end (0: epoch ends only)")
    keep: PositiveInt = 2
    resume: bool = Field(True, description="false: start over even if a checkpoint of the same run exists")


def run_fingerprint(settings: Any, arrays: dict[str, np.ndarray]) -> str:
    """A short digest of everything that determines a run: its settings (JSON data) and its input arrays.

    Two runs with the same fingerprint train the same model, so the second may continue the first.
    """
    digest = hashlib.sha256(json.dumps([FORMAT, settings], sort_keys=True, default=str).encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def remove_checkpoints(directory: str | Path) -> None:
    """Delete a run's checkpoint folder; renamed first, so that a deletion cut short never looks like a checkpoint."""
    directory = Path(directory)
    doomed = directory.with_name(directory.name + ".deleting")
    if directory.exists():
        directory.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)


class TrainingCheckpoints:
    """The checkpoints of one run in ``directory``: written every ``every_steps`` steps and at each epoch end.

    Keeps the ``keep`` most recent. ``every_steps`` 0 checkpoints at epoch ends only.
    """

    def __init__(self, directory: str | Path, every_steps: int = 0, keep: int = 2):
        self.directory = Path(directory).absolute()
        self.every_steps = every_steps
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True),
        )

    def due(self, step_in_epoch: int) -> bool:
        return bool(self.every_steps) and step_in_epoch % self.every_steps == 0

    def save(self, global_step: int, arrays: Any, progress: dict[str, Any]) -> None:
        """Write a checkpoint of ``arrays`` (any pytree) and ``progress`` (JSON data) in the background.

        The arrays are copied to host memory first, if they are not there yet: the train step donates its buffers.
        """
        self.manager.save(
            global_step,
            args=ocp.args.Composite(
                arrays=ocp.args.StandardSave(jax.device_get(arrays)),
                progress=ocp.args.JsonSave(progress),
            ),
        )

    def restore_latest(self, like: Any) -> tuple[Any, dict[str, Any]] | None:
        """The newest complete checkpoint as (arrays shaped and placed like ``like``, progress), or None."""
        step = self.manager.latest_step()
        if step is None:
            return None
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        try:
            restored = self.manager.restore(
                step,
                args=ocp.args.Composite(arrays=ocp.args.StandardRestore(abstract), progress=ocp.args.JsonRestore()),
            )
        except Exception as error:  # Orbax and TensorStore raise many types for a damaged folder
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise InputError(
                f"{self.directory / str(step)}: unreadable checkpoint ({first_line}); "
                "delete the folder or set checkpoint.resume: false"
            ) from None
        logger.info("resuming from the checkpoint of step %d in %s", step, self.directory)
        return restored["arrays"], restored["progress"]

    def close(self) -> None:
        """Wait for the checkpoint being written, if any, and stop the manager."""
        self.manager.wait_until_finished()
        self.manager.close()


@contextmanager
def run_checkpoints(
    spec: CheckpointSpec, root: Path, settings: Any, arrays: dict[str, np.ndarray]
) -> Iterator[TrainingCheckpoints | None]:
    """The checkpoints of the run that ``settings`` and ``arrays`` describe (see ``run_fingerprint``), in a folder
    of its fingerprint under ``root / spec.directory``, closed when done; None when checkpoints are off."""
    if not spec.directory:
        yield None
        return
    directory = root / spec.directory / run_fingerprint(settings, arrays)
    if not spec.resume:
        shutil.rmtree(directory, ignore_errors=True)
    checkpoints = TrainingCheckpoints(directory, spec.every_steps, spec.keep)
    try:
        yield checkpoints
    finally:
        checkpoints.close()
