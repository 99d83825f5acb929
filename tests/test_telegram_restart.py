"""Crash and restart: the bot runs as a subprocess, is killed with SIGKILL in the middle of a
stream of updates from many people, and restarted. Every update must be answered exactly once,
in order per person (checked on what the local Bot API server received per chat)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable

# PTB 22 warns about RetryAfter.retry_after's future type from inside its own code.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@asynccontextmanager
async def bot_process(
    args: list[str], server: FakeTelegram, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "AIGUILLAGE_TELEGRAM_TOKEN": server.token, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            PYTHON, *args, cwd=str(ROOT), env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def stop_gracefully(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGTERM)
    async with asyncio.timeout(10):
        assert await proc.wait() == 0


def confirmed_in_db(db: Path) -> int:
    """How many events the bot has confirmed sent (read from its SQLite file, read-only)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM inbox WHERE sent = 1").fetchone()[0])


async def settle(db: Path, server: FakeTelegram, one_message_per_event: bool) -> None:
    """Wait until every message Telegram accepted is also recorded as sent by the bot.

    Telegram has no idempotency key: a SIGKILL between Telegram accepting a message and the bot
    recording it (the response's trip back plus one SQLite write) repeats that one message after
    the restart. This test is about everything else, so it kills outside that window (sends after
    the freeze are held and never accepted); the random-kill test below covers the window."""
    deadline = time.monotonic() + 15
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = confirmed_in_db(db)
        accepted = sum(len(v) for v in server.sent.values())
        if one_message_per_event and count == accepted:
            return
        if count != last:
            last, stable_since = count, time.monotonic()
        elif not one_message_per_event and time.monotonic() - stable_since > 0.5:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the bot did not settle")


async def inject(server: FakeTelegram, users: list[int], rounds: range, texts: list[str]) -> int:
    last = 0
    for k in rounds:
        for user in users:
            last = await server.send_text(user, texts[k])
    return last


async def run_with_kill(
    server: FakeTelegram, args: list[str], log: Path, users: list[int], texts: list[str],
    kill_after: int, db: Path, one_message_per_event: bool = False,
) -> None:  # fmt: skip
    """Start, stream the first rounds, freeze sends after `kill_after` messages, SIGKILL while a
    send is in flight, stream the rest while the bot is down, restart and let it finish."""
    half = len(texts) // 2 + 1
    async with bot_process(args, server, log) as proc:
        await server.wait_for(lambda: "en" in server.commands, 30)
        await inject(server, users, range(half), texts)

        def enough() -> bool:
            if sum(len(v) for v in server.sent.values()) >= kill_after:
                server.hold_sends = True  # later sends never reach "Telegram"
                return True
            return False

        await server.wait_for(enough, 30)
        await server.wait_for(lambda: server.held >= 1, 30)
        await settle(db, server, one_message_per_event)
        proc.kill()  # SIGKILL: no cleanup at all
        await proc.wait()
    server.hold_sends = False
    answered_before = sum(len(v) for v in server.sent.values())
    last = await inject(server, users, range(half, len(texts)), texts)
    async with bot_process(args, server, log) as proc:
        await server.wait_answered(last, db, timeout=30)
        await stop_gracefully(proc)
    assert answered_before < sum(len(v) for v in server.sent.values())


async def test_kill_9_and_restart_answers_every_update_once_in_order(tmp_path: Path) -> None:
    users = [1000 + n for n in range(20)]
    texts = [f"m{k}" for k in range(5)]
    args = ["-m", "tests.telegram_runner", str(tmp_path / "bot.db")]
    async with FakeTelegram(max_lifetime=120) as server:
        await run_with_kill(
            server, [*args, server.base_url], tmp_path / "bot.log", users, texts,
            kill_after=35, db=tmp_path / "bot.db", one_message_per_event=True,
        )  # fmt: skip
        for user in users:
            got = server.texts(user)
            assert got == [f"echo {k + 1}: text=m{k} lang=fr" for k in range(5)], (user, got)
        assert server.pending() == []
        assert not [e for e in server.errors if e[1] == 400], server.errors


def _config(tmp_path: Path, server: FakeTelegram, name: str) -> list[str]:
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"adapter: telegram\ntelegram:\n  base_url: {server.base_url}\n  poll_timeout: 5\n",
        encoding="utf-8",
    )
    db = tmp_path / f"{name}.db"
    return ["-m", "bot", "run", "--adapter", "telegram", "--config", str(config), "--db", str(db)]


CONVERSATION = [
    "bonjour",
    "je suis au RSA à Nancy et je cherche un chantier d'insertion",
    "c'est quoi un garage solidaire ?",
]


async def test_real_cli_restart_gives_the_same_conversations_as_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    users = [2000 + n for n in range(6)]
    async with FakeTelegram(max_lifetime=120) as reference:
        args = _config(tmp_path, reference, "reference")
        async with bot_process(args, reference, tmp_path / "reference.log") as proc:
            await reference.wait_for(lambda: "en" in reference.commands, 30)
            last = await inject(reference, users, range(len(CONVERSATION)), CONVERSATION)
            await reference.wait_answered(last, tmp_path / "reference.db", timeout=30)
            await stop_gracefully(proc)
        expected = {user: reference.texts(user) for user in users}
    assert all(len(texts) >= len(CONVERSATION) for texts in expected.values())

    async with FakeTelegram(max_lifetime=120) as server:
        args = _config(tmp_path, server, "crashed")
        await run_with_kill(server, args, tmp_path / "crashed.log", users, CONVERSATION,
                            kill_after=8, db=tmp_path / "crashed.db")  # fmt: skip
        for user in users:
            assert server.texts(user) == expected[user], user
        assert not [e for e in server.errors if e[1] == 400], server.errors


async def test_random_kills_lose_nothing_and_never_reorder(tmp_path: Path) -> None:
    """Kills at arbitrary moments (no freeze): nothing is lost or reordered; the only possible
    repeat is the message in flight at the kill, right after itself (see `settle`)."""
    users = [3000 + n for n in range(10)]
    texts = [f"m{k}" for k in range(4)]
    args = ["-m", "tests.telegram_runner", str(tmp_path / "chaos.db")]
    expected = [f"echo {k + 1}: text=m{k} lang=fr" for k in range(len(texts))]
    async with FakeTelegram(max_lifetime=120) as server:
        args.append(server.base_url)
        last = await inject(server, users, range(len(texts)), texts)
        for kill_after in (7, 19):
            async with bot_process(args, server, tmp_path / "chaos.log") as proc:
                await server.wait_for(
                    lambda n=kill_after: sum(len(v) for v in server.sent.values()) >= n, 30
                )
                proc.kill()
                await proc.wait()
        async with bot_process(args, server, tmp_path / "chaos.log") as proc:
            await server.wait_answered(last, tmp_path / "chaos.db", timeout=30)
            await stop_gracefully(proc)
        for user in users:
            got = server.texts(user)
            deduplicated = [t for i, t in enumerate(got) if i == 0 or got[i - 1] != t]
            assert deduplicated == expected, (user, got)
        repeats = sum(len(server.texts(u)) for u in users) - len(users) * len(texts)
        # at most the one message per chat that was in flight at each kill (measured: 9 of 40)
        assert repeats <= 2 * len(users)
