"""Progress display: a rich bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

logger = logging.getLogger(__name__)


class EpochProgress:
    """One bar per epoch, advanced per step, with the running loss and accuracy."""

    def __init__(self, epochs: int, steps: int, log_every_seconds: float = 30.0):
        self.epochs, self.steps = epochs, steps
        self.log_every_seconds = log_every_seconds
        console = Console(file=sys.stderr)
        self.interactive = console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f} acc {task.fields[accuracy]:.4f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not self.interactive,
        )
        self.task = None
        self.last_log = 0.0

    def __enter__(self) -> EpochProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def start_epoch(self, epoch: int) -> None:
        self.task = self.progress.add_task("", total=self.steps, epoch=epoch, epochs=self.epochs, loss=0.0, accuracy=0.0)
        self.epoch = epoch
        self.last_log = time.monotonic()

    def advance(self, step: int, loss: float | None = None, accuracy: float | None = None) -> None:
        fields = {} if loss is None else {"loss": loss, "accuracy": accuracy}
        self.progress.update(self.task, completed=step, **fields)
        if not self.interactive and loss is not None and time.monotonic() - self.last_log > self.log_every_seconds:
            logger.info("epoch %d step %d/%d loss %.4f accuracy %.4f", self.epoch, step, self.steps, loss, accuracy)
            self.last_log = time.monotonic()
