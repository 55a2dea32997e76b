"""The process's heap: how glibc's allocator keeps or gives back freed memory (elsewhere
every function here does nothing).

Each way in chooses once for its process:

* the commands keep freed blocks for the next photo (``keep_freed_blocks``), from their
  second detection on (``keep_freed_blocks_after_the_first_detection``). By default
  glibc hands large freed blocks back to the system as they are freed, and the next
  photo, of another size, faults the same amount in again page by page, each fault
  costly in a virtual machine: 465 minor page faults per photo over the mixed benchmark
  set, and over photos of a few sizes 5,000-20,000 in most runs (about 540 in some:
  glibc's own threshold moves with what was freed before). Kept, 204 and at most about
  1,600, and mixed photos took 24.5-24.8 ms against 26.4-28.2 (docs/benchmarks.md). The
  price is memory: blocks freed into the heap stay resident where the next ones do not
  fit, and a command holds them until it exits. A command given one photo has no next
  photo to keep them for, and kept from the start they raised a one-photo ``identify``'s
  peak by 33-53 MiB (facerec's own 182 MiB above ``import torch`` against 149 in
  ``scripts/benchmark_startup.py``), so they are kept only once a first detection (a
  photo, or a batch of them) is done.
* the HTTP service runs for weeks and its memory must come back after a burst: every
  block over 4 MB is mapped on its own, so freeing it unmaps it
  (``map_large_blocks_apart``), and ``give_memory_back`` returns the rest.
"""

from __future__ import annotations

import ctypes
import functools
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
APART_ABOVE = 4 * 1024 * 1024
"""The HTTP service's blocks above this many bytes are mapped on their own."""
KEPT_UP_TO = 32 * 1024 * 1024
"""The commands' blocks up to this many bytes come from the heap and go back to it when
freed (glibc's largest threshold for mapping a block on its own)."""
TRIM_ABOVE = 1024 ** 3
"""The commands' heap gives memory back to the system only once this much is free at its
top."""


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library already loaded in this process, where it is glibc's allocator."""
    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def keep_freed_blocks() -> bool:
    """Keep freed blocks up to ``KEPT_UP_TO`` in the heap for reuse, and trim the heap only
    above ``TRIM_ABOVE`` (see the module docstring); whether glibc took both."""
    libc = _libc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, KEPT_UP_TO)) \
        and bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_ABOVE))


_after_the_first_detection = False


def keep_freed_blocks_after_the_first_detection() -> None:
    """``keep_freed_blocks`` once the first detection is done (``detection_done``), for
    the photos after it (see the module docstring)."""
    global _after_the_first_detection
    _after_the_first_detection = True


def detection_done() -> None:
    """Called by the detector after each detection: keeps freed blocks from now on if
    ``keep_freed_blocks_after_the_first_detection`` asked for it."""
    global _after_the_first_detection
    if _after_the_first_detection:
        _after_the_first_detection = False
        keep_freed_blocks()


def map_large_blocks_apart() -> None:
    """Have glibc map every block above ``APART_ABOVE`` on its own, so freeing it unmaps
    it (glibc otherwise raises that threshold as large blocks are freed, and keeps them)."""
    libc = _libc()
    if libc is not None and not libc.mallopt(_M_MMAP_THRESHOLD, APART_ABOVE):
        log.debug("mallopt(M_MMAP_THRESHOLD) refused")


def give_memory_back() -> None:
    """Return freed heap memory to the system (glibc's ``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
