"""Micro-batching: work items from concurrent requests run through the networks together.

A bounded queue feeds one worker thread. The worker takes the first waiting item, then
gathers whatever else arrives within ``max_wait`` seconds (up to ``max_batch`` items) and
runs them as one call, so under load many requests share a forward pass while a lone
request waits at most ``max_wait``. A full queue refuses new items at once (the server
answers 503) instead of letting latency grow without bound.

No request waits forever: ``run`` gives up after ``deadline`` seconds with ``WorkerLost``
(503). A worker that dies fails the items it held with ``WorkerLost`` and is replaced at
once; one that has been on a single call for longer than the deadline is replaced when
the next request comes or gives up (it finishes that call, then stops), so the queue
keeps moving.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from facerec.errors import QueueFull, WorkerLost

__all__ = ["MicroBatcher", "QueueFull", "WorkerLost"]

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Worker(threading.Thread):
    """A worker thread and when its current call began (None while it waits)."""

    def __init__(self, run: Callable[[], None]) -> None:
        super().__init__(target=run, name="facerec-batcher", daemon=True)
        self.busy_since: float | None = None


class MicroBatcher(Generic[Item, Result]):
    """Runs ``process(items) -> results`` (one result per item, same order) in batches.

    Args:
        process: the batched function; it runs on the worker thread only.
        max_batch: most items per call.
        max_wait: seconds to wait for more items after the first one of a batch.
        max_queue: most items waiting; ``submit`` raises QueueFull beyond it.
        deadline: most seconds ``run`` waits for an item's result (queue and call).
    """

    def __init__(self, process: Callable[[Sequence[Item]], Sequence[Result]], *,
                 max_batch: int = 16, max_wait: float = 0.002, max_queue: int = 64,
                 deadline: float = 60.0) -> None:
        self._process = process
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.deadline = deadline
        self._queue: queue.Queue[tuple[Item, Future[Result]] | None] = queue.Queue(max_queue)
        self.batches = 0
        """Calls of ``process`` so far (with ``items``, the mean batch size)."""
        self.items = 0
        """Items processed so far."""
        self.restarts = 0
        """Workers started to replace one that died or stalled."""
        self._closing = False
        self._guard = threading.Lock()
        self._worker = _Worker(self._run)
        self._worker.start()

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken by the worker."""
        return self._queue.qsize()

    def submit(self, item: Item) -> Future[Result]:
        """Queue one item; its result (or exception) arrives on the returned future."""
        self.replace_lost_worker()
        future: Future[Result] = Future()
        try:
            self._queue.put_nowait((item, future))
        except queue.Full:
            raise QueueFull(f"{self._queue.maxsize} requests are already waiting") from None
        return future

    async def run(self, item: Item) -> Result:
        """The result of one item, awaited for at most ``deadline`` seconds.

        Raises:
            QueueFull: the queue is full.
            WorkerLost: the worker stopped, or the deadline passed (a stalled worker is
                then replaced); otherwise whatever ``process`` raised for this item.
        """
        future = self.submit(item)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.deadline)
        except asyncio.TimeoutError:
            self.replace_lost_worker()
            raise WorkerLost(f"the networks did not answer within {self.deadline:g} s; "
                             "try again") from None

    def replace_lost_worker(self) -> None:
        """Start a new worker if the current one died, or has been on one call for longer
        than the deadline (it stops once that call returns)."""
        with self._guard:
            worker = self._worker
            if self._closing:
                return
            busy = worker.busy_since
            if worker.is_alive() and (busy is None or time.monotonic() - busy <= self.deadline):
                return
            log.warning("the networks' worker %s; starting a new one",
                        "stopped" if not worker.is_alive()
                        else f"has been on one batch for over {self.deadline:g} s")
            self._replace(worker)

    def close(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the worker."""
        self._closing = True
        self._queue.put(None)
        self._worker.join(timeout)

    # the worker ---------------------------------------------------------------------------
    def _replace(self, worker: threading.Thread) -> None:
        """Start a successor to ``worker`` unless one runs already (call under _guard)."""
        if self._worker is worker and not self._closing:
            self.restarts += 1
            self._worker = _Worker(self._run)
            self._worker.start()

    def _run(self) -> None:
        me = threading.current_thread()
        assert isinstance(me, _Worker)
        live: list[tuple[Item, Future[Result]]] = []
        try:
            while self._worker is me:
                first = self._queue.get()
                if first is None:
                    if self._worker is not me:  # the stop was meant for the current worker
                        self._queue.put(None)
                    return
                batch, stop = self._gather(first)
                live = [entry for entry in batch if entry[1].set_running_or_notify_cancel()]
                if live:
                    me.busy_since = time.monotonic()
                    self._call(live)
                    me.busy_since = None
                live = []
                if stop:
                    return
        except BaseException as exc:  # noqa: BLE001 - the worker must not vanish silently
            log.error("the networks' worker stopped (%r); starting a new one", exc)
            for _, future in live:
                if not future.done():
                    future.set_exception(WorkerLost(
                        "the networks' worker stopped during this request; try again"))
            with self._guard:
                self._replace(me)

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
