"""The process's heap: how glibc's allocator keeps or gives back freed memory (elsewhere
every function here does nothing).

Each way in chooses once for its process:

* the commands keep freed blocks for the next photo (``keep_freed_blocks``). By default
  glibc hands large freed blocks back to the system as they are freed, and the next
  photo, of another size, faults the same amount in again page by page, each fault
  costly in a virtual machine: 465 minor page faults per photo over the mixed benchmark
  set, and over photos of a few sizes 5,000-20,000 in most runs (about 540 in some:
  glibc's own threshold moves with what was freed before). Kept, 204 and at most about
  1,600, and mixed photos took 24.5-24.8 ms against 26.4-28.2 (docs/benchmarks.md). A
  command's peak memory does not change; it holds it until it exits.
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
