"""The SQLite store's write-ahead log copied into the database by a thread of its own.

SQLite's automatic checkpoint runs in the connection that commits, once the log passes 1,000
pages: the turn whose commit crossed that line waits for the copy and its `fsync`. On a busy
disk (just after the knowledge files were saved, say) one such commit took 12–174 ms in a test
here, where a commit otherwise takes 0.3 ms. This thread checkpoints every second instead, with
its own connection, in PASSIVE mode: commits go on while it copies (only the rare forced
checkpoint after a person's data is erased, `store.Scrub`, may wait for it). The database
thread keeps an automatic checkpoint only as a safety net, at a larger size
(`SAFETY_NET_PAGES`), should this thread fall behind.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

INTERVAL_S = 1.0
SAFETY_NET_PAGES = 10_000  # about 40 MB of log: the database thread checkpoints past it


class WalCheckpointer:
    """Start with `WalCheckpointer.start(connect)`, stop with `await checkpointer.stop()`."""

    def __init__(
        self, connect: Callable[[], sqlite3.Connection], lock: threading.Lock, interval_s: float
    ) -> None:
        self._connect = connect
        self._lock = lock  # shared with the scrub after an erasure (store.Scrub)
        self._interval = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name="aiguillage-wal", daemon=True)
        self._reported = -60.0

    @classmethod
    def start(
        cls,
        connect: Callable[[], sqlite3.Connection],
        lock: threading.Lock,
        interval_s: float = INTERVAL_S,
    ) -> WalCheckpointer:
        """`lock` is held while a checkpoint runs: SQLite refuses a second one at once without
        waiting, and the one that must not fail (the scrub after an erasure) takes it too."""
        self = cls(connect, lock, interval_s)
        self._thread.start()
        return self

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.to_thread(self._thread.join)

    def _main(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopping.wait(self._interval):
                try:
                    connection = connection or self._connect()
                    with self._lock:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as error:  # the safety net checkpoints meanwhile
                    self._report(error)
        finally:
            if connection is not None:
                connection.close()

    def _report(self, error: sqlite3.Error) -> None:
        now = time.monotonic()
        if now - self._reported >= 60.0:  # once a minute at most; never a row's content
            self._reported = now
            log.warning("WAL checkpoint failed, retried in %g s: %s", self._interval, error)
