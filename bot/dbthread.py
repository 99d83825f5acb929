"""One SQLite connection owned by one thread; the event loop hands it whole jobs.

A job is a plain function `fn(connection) -> T`. The thread runs the jobs that are waiting in
one transaction (`BEGIN IMMEDIATE` … `COMMIT`), each after the first inside its own savepoint so
that a job that fails is rolled back alone, and only after the `COMMIT` are the results handed
back to the event loop (one wake-up per batch). So a caller that awaits a job knows its writes
are committed, and a turn's reads and writes are one round trip to the database thread, however
many statements they take. A batch stops growing after `batch_budget_s` so that nobody waits
long for it.

Jobs run in the order they were submitted (one FIFO queue), which is what lets a "mark as sent"
be queued without waiting: anything submitted after it is committed with it or after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_RETRIES = 3  # BEGIN IMMEDIATE waits busy_timeout each time before giving up


@dataclass(slots=True)
class _Job(Generic[T]):
    fn: Callable[[sqlite3.Connection], T]
    future: asyncio.Future[T] | None
    loop: asyncio.AbstractEventLoop | None
    transaction: bool = True
    outcome: tuple[bool, Any] = field(default=(False, None))  # (ok, result or exception)


_STOP = object()


class DatabaseThread:
    """Start with `await DatabaseThread.start(connect)`, stop with `await thread.close()`."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        after_commit: Callable[[sqlite3.Connection], None] | None = None,
        batch_budget_s: float = 0.010,
        max_batch: int = 128,
    ) -> None:
        self._connect = connect
        self._after_commit = after_commit
        self._budget = batch_budget_s
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job[Any] | object] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="aiguillage-db", daemon=True)
        self._closed = False

    @classmethod
    async def start(
        cls,
        connect: Callable[[], sqlite3.Connection],
        after_commit: Callable[[sqlite3.Connection], None] | None = None,
    ) -> DatabaseThread:
        self = cls(connect, after_commit)
        self._thread.start()
        await asyncio.to_thread(self._ready.wait)
        if self._open_error is not None:
            self._thread.join()
            raise self._open_error
        return self

    def submit(
        self, fn: Callable[[sqlite3.Connection], T], *, transaction: bool = True
    ) -> asyncio.Future[T]:
        """Queue `fn` now; the future resolves once its transaction is committed."""
        if self._closed:
            raise RuntimeError("the database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, future, loop, transaction))
        return future

    async def run(self, fn: Callable[[sqlite3.Connection], T], *, transaction: bool = True) -> T:
        return await self.submit(fn, transaction=transaction)

    def submit_nowait(self, fn: Callable[[sqlite3.Connection], object]) -> None:
        """Queue `fn` without waiting for it (a failure is logged, never raised)."""
        if self._closed:
            raise RuntimeError("the database is closed")
        self._queue.put(_Job(fn, None, None))

    async def close(self) -> None:
        """Finish every queued job, then close the connection and stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    # --- on the database thread ---------------------------------------------------------------

    def _main(self) -> None:
        try:
            connection = self._connect()
        except BaseException as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            pending: _Job[Any] | object | None = None
            while True:
                item = pending if pending is not None else self._queue.get()
                pending = None
                if item is _STOP:
                    return
                assert isinstance(item, _Job)
                if not item.transaction:
                    self._run_alone(connection, item)
                    continue
                pending = self._run_batch(connection, item)
        finally:
            connection.close()

    def _run_alone(self, connection: sqlite3.Connection, job: _Job[Any]) -> None:
        try:
            job.outcome = (True, job.fn(connection))
        except BaseException as exc:
            job.outcome = (False, exc)
        self._deliver([job])

    def _run_batch(self, connection: sqlite3.Connection, first: _Job[Any]) -> object | None:
        """Run `first` and whatever is queued behind it in one transaction, and deliver every
        outcome whatever happens (the thread must never die with callers waiting).

        Returns an item taken from the queue that does not belong in this batch, if any."""
        batch: list[_Job[Any]] = [first]
        leftover: object | None = None
        try:
            _begin(connection)
            leftover = self._fill_and_run(connection, batch)
            connection.execute("COMMIT")
        except BaseException as exc:  # the transaction is lost: no job of it is committed
            _rollback(connection)
            for job in batch:
                job.outcome = (False, exc)
        else:
            self._run_after_commit(connection)
        self._deliver(batch)
        return leftover

    def _fill_and_run(self, connection: sqlite3.Connection, batch: list[_Job[Any]]) -> object:
        """Run the batch's jobs, taking more from the queue while the budget lasts."""
        started = time.monotonic()
        first = batch[0]
        first.outcome = (True, first.fn(connection))  # alone so far: its failure ends the batch
        job = first
        while True:
            if job is not first:
                failure = self._run_in_savepoint(connection, job)
                if failure is not None:  # SQLite rolled the whole transaction back
                    raise failure
            if len(batch) >= self._max_batch or time.monotonic() - started > self._budget:
                return None
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return None
            if item is _STOP or not isinstance(item, _Job) or not item.transaction:
                return item
            job = item
            batch.append(job)

    def _run_after_commit(self, connection: sqlite3.Connection) -> None:
        if self._after_commit is None:
            return
        try:
            self._after_commit(connection)
        except Exception as exc:  # committed already: report, never lose the results
            log.warning("after-commit step failed: %s", type(exc).__name__)

    @staticmethod
    def _run_in_savepoint(connection: sqlite3.Connection, job: _Job[Any]) -> BaseException | None:
        """Run one job in its own savepoint. A failure of the job alone is its outcome; returns
        the exception only when the whole transaction did not survive it (a full disk…).

        Savepoints are not released: COMMIT ends them all, and `ROLLBACK TO job` goes back to the
        latest one of that name. One statement per job instead of two."""
        connection.execute("SAVEPOINT job")
        try:
            result = job.fn(connection)
        except BaseException as exc:
            job.outcome = (False, exc)
            if not connection.in_transaction:
                return exc
            try:
                connection.execute("ROLLBACK TO job")
            except sqlite3.Error:
                return exc
            return None
        job.outcome = (True, result)
        return None

    @staticmethod
    def _deliver(jobs: list[_Job[Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any]]] = {}
        for job in jobs:
            if job.loop is None:
                ok, value = job.outcome
                if not ok:
                    log.error("background database job failed: %s", type(value).__name__)
                continue
            by_loop.setdefault(job.loop, []).append(job)
        for loop, waiting in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_resolve, waiting)


def _resolve(jobs: list[_Job[Any]]) -> None:
    for job in jobs:
        future = job.future
        if future is None or future.done():
            continue
        ok, value = job.outcome
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _begin(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retried while another program holds the write lock."""
    for attempt in range(BUSY_RETRIES):
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if attempt == BUSY_RETRIES - 1:
                raise
            log.warning("database busy, retrying (%d/%d)", attempt + 1, BUSY_RETRIES)


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        try:
            connection.execute("ROLLBACK")
        except sqlite3.Error:
            log.warning("rollback failed")
