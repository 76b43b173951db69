"""Batches cut and placed on their devices by a background thread while the compiled step runs.

The thread works ``size`` batches ahead, so the step does not wait on the host to slice the next
batch out of host memory and copy it over; the batches and their order are those of the
iterator it is given, whatever the thread's timing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

Item = TypeVar("Item")
Placed = TypeVar("Placed")

_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetched(batches: Iterable[Item], place: Callable[[Item], Placed], size: int) -> Iterator[Placed]:
    """``place(batch)`` for every batch of ``batches``, in order, computed up to ``size`` batches ahead (0: inline)."""
    if size <= 0:
        yield from map(place, batches)
        return
    ready: queue.Queue[Any] = queue.Queue(maxsize=size)
    stop = threading.Event()

    def hand_over(item: Any) -> bool:
        """Put ``item`` in the queue unless the consumer has stopped; whether it went in."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not hand_over(place(batch)):
                    return
        except BaseException as error:  # the consumer raises it in its own thread
            hand_over(_Failure(error))
            return
        hand_over(_END)

    thread = threading.Thread(target=produce, name="flaxline-prefetch", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
