"""The database's files: private, one writer, and a clear French message for every problem an
admin can fix (read-only, full disk, corrupted, newer version, a second instance, busy)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import multiprocessing
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.dispatcher import Dispatcher, StepResult
from bot.messages import Incoming, Reply, Turn
from bot.store import MIGRATIONS, Store, StoreError

ROOT = Path(__file__).resolve().parents[1]


class BigStateDialogue:
    """Each message adds a few kilobytes to the state, to fill a small database quickly."""

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        notes = [*(state or {}).get("notes", []), os.urandom(1500).hex()]
        return StepResult(Turn([Reply(f"note {len(notes)}")]), {"notes": notes})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply("données")

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("désolé")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUTF8": "1"},
    )


# --- private files -------------------------------------------------------------------------------


async def test_files_are_private_and_the_key_lives_beside_the_database(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "data"
    db = folder / "aiguillage.db"
    async with Store.open(db) as store:
        await Dispatcher(store, BigStateDialogue).handle(Incoming("test", "ana", "1", text="x"))
        key_file = folder / "aiguillage.key"
        assert mode(folder) == 0o700
        for path in (db, db.with_name("aiguillage.db-wal"), db.with_name("aiguillage.db-shm")):
            assert path.exists() and mode(path) == 0o600, path
        assert mode(key_file) == 0o600 and mode(folder / "aiguillage.db.lock") == 0o600
        key = bytes.fromhex(key_file.read_text().strip())
        assert len(key) == 32
    # the database alone holds no key: nothing in it can re-identify anyone
    for path in folder.glob("aiguillage.db*"):
        assert key.hex().encode() not in path.read_bytes()
        assert key not in path.read_bytes()
    names = sqlite3.connect(db).execute("SELECT name FROM settings").fetchall()
    assert ("pseudonym_key",) not in names


async def test_older_files_are_made_private_when_opened(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    async with Store.open(db):
        pass
    db.chmod(0o644)
    async with Store.open(db):
        assert mode(db) == 0o600


async def test_a_key_kept_in_the_database_by_an_older_version_moves_to_its_own_file(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.db"
    legacy = bytes(range(32))
    raw = sqlite3.connect(db)
    raw.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    raw.execute("INSERT INTO settings VALUES ('pseudonym_key', ?)", (legacy.hex(),))
    old_key = hmac.new(legacy, b"telegram:42", hashlib.sha256).hexdigest()[:32]
    raw.execute(
        "INSERT INTO conversations VALUES (?, '{\"age\": 30}', 0, ?)", (old_key, time.time())
    )
    raw.commit()
    raw.close()
    async with Store.open(db) as store:
        assert (tmp_path / "a.key").read_text().strip() == legacy.hex()
        # the same pseudonyms as before: the person finds their conversation again
        assert await store.load_state(store.key_for("telegram", "42")) == {"age": 30}
    for path in tmp_path.glob("a.db*"):
        assert legacy.hex().encode() not in path.read_bytes()


async def test_a_lost_key_is_refused_when_conversations_exist(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    async with Store.open(db) as store:
        await Dispatcher(store, BigStateDialogue).handle(Incoming("test", "ana", "1", text="x"))
    (tmp_path / "a.key").unlink()
    with pytest.raises(StoreError, match=r"clé de pseudonymisation .* introuvable"):
        async with Store.open(db):
            pass
    assert not (tmp_path / "a.key").exists()  # no new key silently made


# --- one writer ----------------------------------------------------------------------------------


async def test_a_second_instance_on_the_same_file_is_refused_with_a_clear_message(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.db"
    async with Store.open(db):
        with pytest.raises(StoreError, match=f"Un autre Aiguillage \\(processus {os.getpid()}\\)"):
            async with Store.open(db):
                pass
        other = await asyncio.to_thread(run_cli, "chat", "--jsonl", "--db", str(db))
        assert other.returncode == 3
        assert "Un autre Aiguillage" in other.stderr and "--db" in other.stderr
        assert "Traceback" not in other.stderr
        # admin commands do not write turns: they work while the bot runs
        stats = await asyncio.to_thread(run_cli, "stats", "--db", str(db))
        assert stats.returncode == 0, stats.stderr
    async with Store.open(db):  # the lock went with the first instance
        pass


async def test_busy_is_retried_while_another_program_writes(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    async with Store.open(db, exclusive=False) as store:
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        released = threading.Timer(0.5, lambda: other.execute("COMMIT"))
        released.start()
        began = time.monotonic()
        await store.set_cursor("telegram:offset", "7")
        assert time.monotonic() - began >= 0.4  # it waited for the other writer, then wrote
        assert await store.get_cursor("telegram:offset") == "7"
        released.join()
        other.close()


# --- problems with a clear message and a way out ----------------------------------------------


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder other accounts can read (for the read-only checks run as another account)."""
    folder = Path(tempfile.mkdtemp(prefix="aiguillage-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _open_as_someone_else(db: str, answer: Any) -> None:
    """In a child process: become `nobody`, then try to open the store."""
    os.setgid(65534)
    os.setuid(65534)
    try:
        asyncio.run(_open_once(Path(db)))
        answer.put("opened")
    except StoreError as exc:
        answer.put(str(exc))
    except BaseException as exc:
        answer.put(f"{type(exc).__name__}: {exc}")


async def _open_once(db: Path) -> None:
    async with Store.open(db):
        pass


def _try_open_read_only(db: Path) -> str:
    """Open `db` where it is not writable; as root (who may write anywhere) from a child
    process that became `nobody`, otherwise here after taking the write permission away."""
    if os.geteuid() == 0:
        context = multiprocessing.get_context("fork")
        answer = context.Queue()
        child = context.Process(target=_open_as_someone_else, args=(str(db), answer))
        child.start()
        child.join(60)
        return str(answer.get(timeout=5))
    db.parent.chmod(0o555)
    if db.exists():
        db.chmod(0o444)
    try:
        asyncio.run(_open_once(db))
        return "opened"
    except StoreError as exc:
        return str(exc)
    finally:
        db.parent.chmod(0o755)


def test_a_read_only_folder_is_refused_with_a_way_out(shared_folder: Path) -> None:
    db = shared_folder / "a.db"
    message = _try_open_read_only(db)
    assert "est en lecture seule" in message and "chmod u+w" in message and "--db" in message
    assert not db.exists()


def test_a_read_only_database_is_refused_with_a_way_out(shared_folder: Path) -> None:
    db = shared_folder / "a.db"
    asyncio.run(_open_once(db))
    db.chmod(0o644)
    before = db.read_bytes()
    message = _try_open_read_only(db)
    assert "est en lecture seule" in message and "chmod u+w" in message
    assert db.read_bytes() == before


async def test_a_full_disk_loses_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A size-limited file system is not available here: the full disk is simulated honestly with
    # SQLite's own limit, PRAGMA max_page_count, which fails writes with SQLITE_FULL exactly as a
    # full disk does.
    async with Store.open(tmp_path / "a.db") as store:
        dispatcher = Dispatcher(store, BigStateDialogue)
        await dispatcher.handle(Incoming("test", "ana", "e0", text="x"))
        pages = await store.run(lambda db: db.execute("PRAGMA page_count").fetchone()[0])
        await store.run(lambda db: db.execute(f"PRAGMA max_page_count = {pages + 8}"))
        answered = 1
        with pytest.raises(StoreError) as failure:
            for n in range(1, 100):
                await dispatcher.handle(Incoming("test", "ana", f"e{n}", text="x"))
                answered += 1
        message = str(failure.value)
        assert "Le disque est plein" in message and "Libérez de la place" in message
        assert caplog.text.count("Le disque est plein") == 1  # in the log too, for the admin
        # nothing half-written: the state is the last committed one, the failed event unseen
        state = await store.load_state(store.key_for("test", "ana"))
        assert state is not None and len(state["notes"]) == answered
        key = store.key_for("test", "ana")
        assert await store.inbox_entry("test", key, f"e{answered}") is None
        # once there is room again, the re-delivered event is answered
        await store.run(lambda db: db.execute("PRAGMA max_page_count = 1073741823"))
        again = await dispatcher.handle(Incoming("test", "ana", f"e{answered}", text="x"))
        assert again.replies[0].text == f"note {answered + 1}"


async def test_a_corrupted_file_is_refused_with_a_way_out(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database\n" * 500)
    damaged = tmp_path / "damaged.db"
    async with Store.open(damaged) as store:
        for n in range(50):
            await store.set_cursor(f"c{n}", "x" * 2000)
    raw = bytearray(damaged.read_bytes())
    raw[4096:] = b"\xff" * (len(raw) - 4096)  # every page after the first is overwritten
    damaged.write_bytes(bytes(raw))
    for path in (garbage, damaged):
        before = path.read_bytes()
        with pytest.raises(StoreError, match="n'est pas une base Aiguillage lisible"):
            async with Store.open(path) as store:
                await store.get_cursor("c1")
        assert path.read_bytes() == before  # left as it was, for a recovery
    cli = await asyncio.to_thread(run_cli, "stats", "--db", str(garbage))
    assert cli.returncode == 3 and "Restaurez la dernière sauvegarde" in cli.stderr
    assert "Traceback" not in cli.stderr


async def test_a_database_from_a_newer_version_is_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    async with Store.open(db):
        pass
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    raw.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match="version plus récente d'Aiguillage") as refused:
        async with Store.open(db):
            pass
    assert "Mettez Aiguillage à jour" in str(refused.value)
    assert db.read_bytes() == before
    cli = await asyncio.to_thread(run_cli, "chat", "--jsonl", "--db", str(db))
    assert cli.returncode == 3 and "version plus récente" in cli.stderr
    assert "Traceback" not in cli.stderr
