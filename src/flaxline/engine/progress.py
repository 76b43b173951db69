"""Progress display: a rich bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

logger = logging.getLogger(__name__)


class EpochProgress:
    """One bar per epoch, advanced per step, with the running metrics of the loss (loss, accuracy, ...)."""

    def __init__(self, epochs: int, steps: int, log_every_seconds: float = 30.0):
        self.epochs, self.steps = epochs, steps
        self.log_every_seconds = log_every_seconds
        console = Console(file=sys.stderr)
        self.interactive = console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not self.interactive,
        )
        self.task: TaskID | None = None
        self.last_log = 0.0

    def __enter__(self) -> EpochProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def start_epoch(self, epoch: int) -> None:
        self.task = self.progress.add_task("", total=self.steps, epoch=epoch, epochs=self.epochs, metrics="")
        self.epoch = epoch
        self.last_log = time.monotonic()

    def advance(self, step: int, metrics: dict[str, float] | None = None) -> None:
        """Move to ``step``; with ``metrics`` (the running means), show them too."""
        assert self.task is not None, "advance() before start_epoch()"
        if metrics is None:
            self.progress.update(self.task, completed=step)
            return
        shown = " ".join(f"{name} {value:.4f}" for name, value in metrics.items())
        self.progress.update(self.task, completed=step, metrics=shown)
        if not self.interactive and time.monotonic() - self.last_log > self.log_every_seconds:
            logger.info("epoch %d step %d/%d %s", self.epoch, step, self.steps, shown)
            self.last_log = time.monotonic()
