"""The store's write-ahead log is copied into the database by its own thread, not by a turn."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot import store as store_module
from bot.conversation.dialogue import OrientationDialogue
from bot.store import Store
from bot.walcheckpoint import SAFETY_NET_PAGES, WalCheckpointer
from tests.test_store_privacy import (
    test_oubli_leaves_nothing_linkable_in_the_tables_nor_in_the_files as oubli,
)


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

    lock = threading.Lock()
    connect = lambda: sqlite3.connect(str(path))  # noqa: E731
    checkpointer = WalCheckpointer.start(connect, lock, interval_s=0.05)
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

    checkpointer = WalCheckpointer.start(broken, threading.Lock(), interval_s=0.02)
    with caplog.at_level(logging.WARNING, logger="bot.walcheckpoint"):
        while tries < 3:
            await asyncio.sleep(0.02)
        await checkpointer.stop()
    assert [r.getMessage() for r in caplog.records] == [
        "WAL checkpoint failed, retried in 0.02 s: disk I/O error"
    ]


async def test_the_store_s_log_reaches_its_file_without_a_turn_doing_it(tmp_path: Path) -> None:
    def wal_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "aiguillage-wal"]

    path = tmp_path / "bot.db"
    async with Store.open(path) as store:
        assert len(wal_threads()) == 1
        # the turns' own connection checkpoints only past the safety net
        pages = await store._thread.run(
            lambda db: db.execute("PRAGMA wal_autocheckpoint").fetchone()[0], transaction=False
        )
        assert pages == SAFETY_NET_PAGES
        await store._thread.run(lambda db: db.execute("CREATE TABLE filler (v BLOB)"))
        await asyncio.sleep(1.5)  # that table reaches the file first
        before = path.stat().st_size
        rows = [(b"x" * 2000,) for _ in range(200)]
        await store._thread.run(lambda db: db.executemany("INSERT INTO filler VALUES (?)", rows))
        assert path.stat().st_size == before  # committed, in the log only
        assert await _grows(path, before)  # copied by the thread, nobody committing
    assert not wal_threads()


async def test_an_admin_command_s_store_beside_the_bot_leaves_the_log_to_the_bot(
    tmp_path: Path,
) -> None:
    async with Store.open(tmp_path / "bot.db"), Store.open(tmp_path / "bot.db", exclusive=False):
        assert len([t for t in threading.enumerate() if t.name == "aiguillage-wal"]) == 1


def test_the_checkpointer_never_makes_a_database_that_was_removed(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    with pytest.raises(sqlite3.OperationalError):
        store_module._checkpoints(path)()
    assert not path.exists()


async def test_the_checkpointer_copies_while_it_holds_the_lock_the_scrub_waits_for(
    tmp_path: Path,
) -> None:
    """SQLite refuses a checkpoint while another runs, without waiting: the scrub after an
    erasure would give up and leave the erased text in the log. They share a lock instead."""
    path = tmp_path / "a.db"
    _wal_database(path).close()
    lock, held = threading.Lock(), []

    class Watched(sqlite3.Connection):
        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:  # type: ignore[override]
            if "wal_checkpoint" in sql:
                held.append(lock.locked())
            return super().execute(sql, *args)  # type: ignore[arg-type]

    connect = lambda: sqlite3.connect(str(path), factory=Watched)  # noqa: E731
    checkpointer = WalCheckpointer.start(connect, lock, interval_s=0.01)
    while len(held) < 3:
        await asyncio.sleep(0.01)
    await checkpointer.stop()
    assert all(held)

    scrub = store_module.Scrub(lock)
    scrub.wanted = True
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    lock.acquire()  # a checkpoint is running
    waiting = threading.Thread(target=scrub.after_commit, args=(db,))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and scrub.wanted  # it waits for the lock, not gives up
    lock.release()
    waiting.join(5)
    assert not scrub.wanted  # then it truncated the log
    db.close()


async def test_an_erasure_leaves_nothing_in_the_files_with_the_log_checkpointed_all_the_time(
    tmp_path: Path, dialogue: OrientationDialogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = WalCheckpointer.start.__func__  # type: ignore[attr-defined]

    def busy(cls: type, connect: Any, lock: threading.Lock, interval_s: float = 1) -> Any:
        return start(cls, connect, lock, 0.0002)

    monkeypatch.setattr(WalCheckpointer, "start", classmethod(busy))
    for attempt in range(5):
        await oubli(tmp_path / str(attempt), dialogue)


async def test_an_in_memory_store_has_no_log_to_copy() -> None:
    async with Store.open(":memory:"):
        assert not [t for t in threading.enumerate() if t.name == "aiguillage-wal"]
