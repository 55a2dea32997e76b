"""Following a shared database's changes while no request comes: a process that holds
a PostgreSQL database's faces in memory (a server, a camera watcher) learns of each
write made anywhere at once, and catches up, so a removed face leaves its memory within
moments even when it answers nothing.

Every write transaction on PostgreSQL ends with a notification on ``CHANNEL``
(delivered when it commits). The follower listens on a connection of its own and, at
each notification or after ``POLL`` seconds without one, calls ``catch_up``: the change
log stays the truth, so a notification missed (the connection lost, the server
restarted) costs at most one poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from facerec.storage.postgres import CHANNEL, connect

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

POLL = 0.5
"""Seconds between catch-ups when no notification comes (a missed one costs this)."""

STOP_WITHIN = 0.25
"""Longest wait for a notification at a time: ``stop`` returns within it."""


class ChangeFollower:
    """Calls ``catch_up`` at every change to the database at ``address``, and every
    ``poll`` seconds, on a daemon thread until ``stop``.

    Args:
        address: the PostgreSQL database (see ``facerec.storage.postgres``).
        catch_up: brings the process's memory in step with the database; its failures
            are logged and it is called again at the next wake.
        poll: seconds between catch-ups without a notification.
    """

    def __init__(self, address: str, catch_up: Callable[[], None],
                 poll: float = POLL) -> None:
        self.address = address
        self.catch_up = catch_up
        self.poll = poll
        self._stopping = threading.Event()
        self._conn = self._listening()  # before returning: no write after it is missed
        self._thread = threading.Thread(target=self._run, name="facerec-follow",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (returns within ``STOP_WITHIN`` seconds and a catch-up)."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _listening(self) -> psycopg.Connection | None:
        """A connection of its own that listens on ``CHANNEL``; None while the server
        cannot be reached (tried again at each poll)."""
        try:
            conn = connect(self.address)
            conn.execute(f"LISTEN {CHANNEL}")
            return conn
        except Exception as exc:
            log.debug("cannot listen for the database's changes: %s", exc)
            return None

    def _run(self) -> None:
        conn = self._conn
        due = time.monotonic()  # catch up at once with what came before listening
        while not self._stopping.is_set():
            told = False
            if conn is None or conn.closed or conn.broken:
                conn = self._listening()
            if conn is None:  # the server away: poll until it is back
                self._stopping.wait(min(self.poll, STOP_WITHIN))
            else:
                try:
                    wait = max(0.0, min(due - time.monotonic(), STOP_WITHIN))
                    told = any(True for _ in conn.notifies(timeout=wait, stop_after=1))
                except Exception as exc:  # the connection lost: listen again
                    log.debug("following the database's changes: %s", exc)
                    conn.close()
                    conn = None
            if self._stopping.is_set() or not (told or time.monotonic() >= due):
                continue
            due = time.monotonic() + self.poll
            try:
                self.catch_up()
            except Exception as exc:  # tried again at the next wake
                log.debug("catching up with the database failed: %s", exc)
        if conn is not None:
            conn.close()
