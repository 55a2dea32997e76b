"""Micro-batching: work items from concurrent requests run through the networks together.

A bounded queue feeds one worker thread. The worker takes the first waiting item, then
gathers whatever else arrives within ``max_wait`` seconds (up to ``max_batch`` items) and
runs them as one call, so under load many requests share a forward pass while a lone
request waits at most ``max_wait``. A full queue refuses new items at once (the server
answers 503) instead of letting latency grow without bound.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from ..errors import QueueFull

__all__ = ["MicroBatcher", "QueueFull"]

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class MicroBatcher(Generic[Item, Result]):
    """Runs ``process(items) -> results`` (one result per item, same order) in batches.

    Args:
        process: the batched function; it runs on the worker thread only.
        max_batch: most items per call.
        max_wait: seconds to wait for more items after the first one of a batch.
        max_queue: most items waiting; ``submit`` raises QueueFull beyond it.
    """

    def __init__(self, process: Callable[[Sequence[Item]], Sequence[Result]], *,
                 max_batch: int = 16, max_wait: float = 0.002, max_queue: int = 64) -> None:
        self._process = process
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: queue.Queue[tuple[Item, Future[Result]] | None] = queue.Queue(max_queue)
        self.batches = 0
        """Calls of ``process`` so far (with ``items``, the mean batch size)."""
        self.items = 0
        """Items processed so far."""
        self._worker = threading.Thread(target=self._run, name="facerec-batcher", daemon=True)
        self._worker.start()

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken by the worker."""
        return self._queue.qsize()

    def submit(self, item: Item) -> Future[Result]:
        """Queue one item; its result (or exception) arrives on the returned future."""
        future: Future[Result] = Future()
        try:
            self._queue.put_nowait((item, future))
        except queue.Full:
            raise QueueFull(f"{self._queue.maxsize} requests are already waiting") from None
        return future

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the worker."""
        self._queue.put(None)
        self._worker.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            self._run_batch(batch)
            if stop:
                return

    def _gather(self, first: tuple[Item, Future[Result]]
                ) -> tuple[list[tuple[Item, Future[Result]]], bool]:
        """The first item plus those arriving within max_wait; True if told to stop."""
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                entry = self._queue.get(timeout=remaining) if remaining > 0 \
                    else self._queue.get_nowait()
            except queue.Empty:
                break
            if entry is None:
                return batch, True
            batch.append(entry)
        return batch, False

    def _run_batch(self, batch: list[tuple[Item, Future[Result]]]) -> None:
        live = [(item, future) for item, future in batch if future.set_running_or_notify_cancel()]
        if live:
            self._call(live)

    def _call(self, live: list[tuple[Item, Future[Result]]]) -> None:
        self.batches += 1
        self.items += len(live)
        try:
            results = self._process([item for item, _ in live])
        except Exception as exc:
            if len(live) == 1:
                live[0][1].set_exception(exc)
                return
            log.debug("a batch of %d failed (%s); running its items one by one", len(live), exc)
            for entry in live:  # one bad item must not fail the others
                self._call([entry])
            return
        for (_, future), result in zip(live, results):
            future.set_result(result)
