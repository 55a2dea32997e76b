"""Bounding the memory that requests' images take, and giving it back after a burst.

A small upload can declare a huge image (a PNG of one colour compresses 39 megapixels
into a few kilobytes). Each request therefore reserves the pixels its image will decode
to from one ``PixelBudget`` before decoding, and keeps them until its faces are found:
the decoded size of everything in flight and queued stays under the budget, and further
requests wait for room. After decoding, an image larger than the networks need is
reduced at once, and the reservation shrinks with it.

Freed memory goes back to the system: large blocks are mapped on their own
(``facerec.levers.allocator.map_large_blocks_apart``, at start), so freeing them unmaps them, and
``malloc_trim`` returns the rest once the service is idle after large images went
through (glibc only; elsewhere both do nothing). Trimming walks the whole heap, which
holds the face index, so it runs off the request path, and only once ``TRIM_AFTER``
pixels were decoded since the last time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from facerec.levers.allocator import give_memory_back

TRIM_AFTER = 64_000_000


class PixelBudget:
    """At most ``limit`` pixels reserved at once; a reservation above the limit is cut
    to it (so one image at a time can still be as large as the service accepts)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reserved = 0
        self.peak = 0
        self.since_trim = 0
        """Pixels reserved since memory was last given back."""
        self._room = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, pixels: int) -> AsyncIterator[Reservation]:
        """Reserve ``pixels`` until the block ends, waiting for room if needed."""
        wanted = min(pixels, self.limit)
        async with self._room:
            await self._room.wait_for(lambda: self.reserved + wanted <= self.limit)
            self.reserved += wanted
            self.since_trim += wanted
            self.peak = max(self.peak, self.reserved)
        reservation = Reservation(self, wanted)
        try:
            yield reservation
        finally:
            await reservation.shrink(0)

    async def _give_back(self, pixels: int) -> None:
        async with self._room:
            self.reserved -= pixels
            self._room.notify_all()
            if self.reserved == 0 and self.since_trim >= TRIM_AFTER:
                self.since_trim = 0
                asyncio.get_running_loop().run_in_executor(None, give_memory_back)


class Reservation:
    """Pixels reserved by one request."""

    def __init__(self, budget: PixelBudget, pixels: int) -> None:
        self._budget = budget
        self.pixels = pixels

    async def shrink(self, pixels: int) -> None:
        """Keep only ``pixels`` of the reservation (an image was reduced, or is done)."""
        freed = self.pixels - min(pixels, self.pixels)
        if freed > 0:
            self.pixels -= freed
            await self._budget._give_back(freed)
