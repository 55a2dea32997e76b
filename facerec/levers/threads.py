"""PyTorch's CPU threads fitted to the cores that other processes leave free.

A laptop or a server is rarely idle. While another process holds one of two cores, each
of PyTorch's parallel regions waits at its barrier for the thread that shares a core
with it, and two threads get less done than one would: with one core of two kept busy by
another process, mixed photos took 69.6 ms each with two threads throughout and 54.7 ms
with the threads fitted (OpenCV 48.2 and 47.1 ms in the same two runs; quiet, the
figures do not move; docs/benchmarks.md). Off until ``enable_fitting`` (the commands and
the service turn it on, see ``facerec.levers``); then ``fit_threads`` is called before
each detection; at most every ``WINDOW`` seconds it reads how much of the process's cores
other processes used since its last look (Linux's ``/proc/stat``, less this process's own
CPU time) and gives PyTorch the cores left free, never more than it had at first.
Elsewhere (no ``/proc/stat``) it does nothing.

OpenMP's thread counts belong to the calling thread, so each thread that runs the
networks keeps its own reading.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

WINDOW = 0.5
"""Seconds between two readings: long enough for the kernel's tick (10 ms) to count."""
STAT = "/proc/stat"


@dataclass(frozen=True)
class Reading:
    """CPU time of the chosen cores (seconds, every process's), this process's own CPU
    time, and the wall clock, all in seconds."""

    busy: float
    own: float
    wall: float


def threads_for(cores: int, others: float, ceiling: int) -> int:
    """How many threads to run on ``cores`` while other processes keep ``others`` cores
    busy (a mean over the last window): the cores left free, rounded to the nearest, at
    least 1 and at most ``ceiling``."""
    return max(1, min(ceiling, int(cores - others + 0.5)))


def read(cores: frozenset[int], path: str = STAT) -> Reading | None:
    """The CPU time spent so far on ``cores`` (user, system, interrupts and time stolen
    by a hypervisor; not idle or waiting for disk), or None where it cannot be read."""
    busy = 0
    try:
        with open(path, encoding="ascii") as stat:
            for line in stat:  # "cpu" (all), then "cpu0", "cpu1", ..., then the rest
                if not line.startswith("cpu"):
                    break
                name, *fields = line.split()
                if name[3:].isdigit() and int(name[3:]) in cores:
                    ticks = [int(v) for v in fields[:8]]
                    busy += sum(ticks) - ticks[3] - ticks[4]
    except (OSError, ValueError, IndexError):
        return None
    return Reading(busy / os.sysconf("SC_CLK_TCK"), time.process_time(), time.perf_counter())


class ThreadFit:
    """One thread's last reading, its cores, and the most threads it may run."""

    def __init__(self, cores: frozenset[int], ceiling: int, first: Reading) -> None:
        self.cores, self.ceiling, self.last = cores, ceiling, first

    def due(self, wall: float) -> bool:
        """Whether a new reading is worth taking at ``wall`` (``WINDOW`` has passed)."""
        return wall - self.last.wall >= WINDOW

    def update(self, now: Reading) -> int:
        """The threads to run from now on, given the reading ``now``."""
        others = ((now.busy - self.last.busy) - (now.own - self.last.own)) / \
            max(now.wall - self.last.wall, 1e-6)
        self.last = now
        return threads_for(len(self.cores), others, self.ceiling)


def _cores() -> frozenset[int]:
    if hasattr(os, "sched_getaffinity"):
        return frozenset(os.sched_getaffinity(0))
    return frozenset(range(os.cpu_count() or 1))


_local = threading.local()
_enabled = False


def enable_fitting(on: bool = True) -> None:
    """Let ``fit_threads`` change PyTorch's thread count (off at import)."""
    global _enabled
    _enabled = on


def fit_threads() -> None:
    """Give the calling thread's PyTorch CPU work the cores other processes left free
    over the last ``WINDOW`` seconds (see the module docstring), once ``enable_fitting``
    was called; cheap to call often."""
    if not _enabled:
        return
    if not hasattr(_local, "fit"):
        _local.fit = _first_look()
        return
    fit = _local.fit
    if fit is None or not fit.due(time.perf_counter()):
        return
    now = read(fit.cores)
    if now is None:
        _local.fit = None
        return
    threads = fit.update(now)
    import torch  # loaded by then: the networks are what call this

    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)


def _first_look() -> ThreadFit | None:
    """The calling thread's first reading; None where there is nothing to read or to fit
    (PyTorch set to one thread)."""
    import torch

    cores = _cores()
    first = read(cores)
    ceiling = torch.get_num_threads()
    return ThreadFit(cores, ceiling, first) if first is not None and ceiling > 1 else None
