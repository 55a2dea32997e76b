"""Process-wide performance levers, off until a program asks for them.

Importing facerec changes nothing in the process it runs in: a program that uses it as a
library keeps its own environment, thread counts and allocator. The commands and
``facerec serve`` turn the levers on (``enable_levers``); a program may too, before it
imports torch. The levers, and what each was measured to do (docs/benchmarks.md):

* **OpenMP spinning** (``GOMP_SPINCOUNT``, libgomp's 300,000 by default, set to
  ``OPENMP_SPIN``): PyTorch's CPU threads spin that long waiting for work before they
  sleep. While another process holds a core, a thread spinning on it keeps the one with
  work from running (before the threads were fitted to free cores, photos took 2.8x as
  long beside a busy core at the default); a thread that sleeps too soon has to be woken
  for each of a small network's many short layers (at 3,000, quiet photos took 1.1-1.3x
  as long as at 30,000). Read by libgomp when torch is imported, so set only before
  then, and only when the environment does not set it.
* **Threads fitted to free cores** (``facerec.levers.threads``): before each detection on the
  CPU, PyTorch gets the cores other processes left free over the last half second.
* **The allocator** (``facerec.levers.allocator``, glibc only): the commands keep freed
  blocks for the next photo once their first detection is done (``keep_freed_blocks``);
  the service maps large blocks apart and gives memory back after a burst
  (``map_large_blocks_apart``). Chosen by each way in, since the two want opposite
  things.

May import: nothing but the vocabulary at the package's root.
"""

from __future__ import annotations

import logging
import os
import sys

from facerec.levers import threads

log = logging.getLogger(__name__)

OPENMP_SPIN = "30000"
"""``GOMP_SPINCOUNT`` with the levers on."""


def enable_levers() -> None:
    """Turn on the spinning and thread levers for this process (see the module's note);
    the allocator is chosen separately by each way in."""
    if "torch" in sys.modules:
        log.debug("torch is already imported: GOMP_SPINCOUNT is left as it is")
    else:
        os.environ.setdefault("GOMP_SPINCOUNT", OPENMP_SPIN)
    threads.enable_fitting()
