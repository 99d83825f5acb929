"""The store's write-ahead log is copied into the database by its own thread, not by a turn."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from bot.store import Store
from bot.walcheckpoint import SAFETY_NET_PAGES, WalCheckpointer


def _wal_database(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")  # nobody else checkpoints here
    db.execute("CREATE TABLE filler (k INTEGER PRIMARY KEY, v BLOB)")
    return db


async def _grows(path: Path, size: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while path.stat().st_size <= size:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_the_log_reaches_the_database_file_without_anyone_committing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.db"
    db = _wal_database(path)
    before = path.stat().st_size
    db.executemany("INSERT INTO filler VALUES (?, ?)", [(k, b"x" * 2000) for k in range(200)])
    assert path.stat().st_size == before  # in the log only

    checkpointer = WalCheckpointer.start(lambda: sqlite3.connect(str(path)), interval_s=0.05)
    assert await _grows(path, before)
    await checkpointer.stop()
    assert not checkpointer._thread.is_alive()
    db.close()


async def test_a_failing_checkpoint_is_reported_once_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tries = 0

    def broken() -> sqlite3.Connection:
        nonlocal tries
        tries += 1
        raise sqlite3.OperationalError("disk I/O error")

    checkpointer = WalCheckpointer.start(broken, interval_s=0.02)
    with caplog.at_level(logging.WARNING, logger="bot.walcheckpoint"):
        while tries < 3:
            await asyncio.sleep(0.02)
        await checkpointer.stop()
    assert [r.getMessage() for r in caplog.records] == [
        "WAL checkpoint failed, retried in 0.02 s: disk I/O error"
    ]


async def test_the_store_checkpoints_from_its_own_thread_while_it_is_open(
    tmp_path: Path,
) -> None:
    def wal_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "aiguillage-wal"]

    async with Store.open(tmp_path / "bot.db") as store:
        assert len(wal_threads()) == 1
        # the turns' own connection checkpoints only past the safety net
        pages = await store._thread.run(
            lambda db: db.execute("PRAGMA wal_autocheckpoint").fetchone()[0], transaction=False
        )
        assert pages == SAFETY_NET_PAGES
    assert not wal_threads()


async def test_an_in_memory_store_has_no_log_to_copy() -> None:
    async with Store.open(":memory:"):
        assert not [t for t in threading.enumerate() if t.name == "aiguillage-wal"]
