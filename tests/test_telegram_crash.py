"""Crash test on the local Bot API server: 50 people write 1,000 messages while the bot process
is killed hard (SIGKILL) four times at random moments and restarted. Every message is answered
exactly once (allowing the one documented repeat: the message Telegram accepted just before the
kill, repeated right after itself), in order per person; a two-message answer is never sent again
whole; the conversation states are exactly what the messages made of them (the echo dialogue
shows its state counter in every answer), and the database is intact."""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 50
MESSAGES = 20  # per person: 1,000 in all
KILLS = 4
CONCURRENCY = 16  # the adapter's default: at most this many chats have a message in flight

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def _text(k: int) -> str:
    return "deux" if k % 5 == 3 else f"m{k}"  # every fifth answer has two messages


def _expected(k: int) -> list[str]:
    if _text(k) == "deux":
        return ["premier message", "second message"]
    return [f"echo {k + 1}: text=m{k} lang=fr"]  # k + 1: the state counted every message


async def _start(args: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=str(ROOT), env=env, stdout=out, stderr=out
        )


async def test_fifty_people_a_thousand_messages_four_hard_kills(tmp_path: Path) -> None:
    rng = random.Random(2026)
    db = tmp_path / "crash.db"
    log = tmp_path / "bot.log"
    users = [5000 + n for n in range(PEOPLE)]
    async with FakeTelegram(max_lifetime=240) as server:
        env = {**os.environ, "AIGUILLAGE_TELEGRAM_TOKEN": server.token, "PYTHONPATH": str(ROOT)}
        args = ["-m", "tests.telegram_runner", str(db), server.base_url]

        async def inject() -> int:
            last = 0
            for k in range(MESSAGES):
                for user in users:
                    last = await server.send_text(user, _text(k))
                await asyncio.sleep(rng.uniform(0.1, 0.6))
            return last

        writer = asyncio.create_task(inject())
        proc = await _start(args, env, log)
        kills = 0
        try:
            total = PEOPLE * sum(len(_expected(k)) for k in range(MESSAGES))
            for kill in range(KILLS):
                target = int(total * (kill + 1) / (KILLS + 1)) + rng.randint(-40, 40)
                await server.wait_for(
                    lambda t=target: sum(len(v) for v in server.sent.values()) >= t, 120
                )
                await asyncio.sleep(rng.uniform(0, 0.3))  # anywhere: mid-batch, mid-send
                proc.kill()
                await proc.wait()
                kills += 1
                await asyncio.sleep(rng.uniform(0, 0.5))
                proc = await _start(args, env, log)
            last = await writer
            await server.wait_answered(last, db, timeout=120)
        finally:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        assert kills == KILLS

        repeats = 0
        for user in users:
            got = server.texts(user)
            collapsed = [t for i, t in enumerate(got) if i == 0 or got[i - 1] != t]
            expected = [text for k in range(MESSAGES) for text in _expected(k)]
            assert collapsed == expected, (user, got)
            repeats += len(got) - len(collapsed)
        # the documented window: at most the messages in flight at each kill
        assert repeats <= KILLS * CONCURRENCY, repeats
        assert server.pending() == []

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        states = [row[0] for row in conn.execute("SELECT state FROM conversations")]
        unsent = conn.execute("SELECT COUNT(*) FROM inbox WHERE sent = 0").fetchone()[0]
    assert sorted(states) == [f'{{"n": {MESSAGES}}}'] * PEOPLE  # one step per message, no more
    assert unsent == 0
    print(f"{PEOPLE * MESSAGES} messages, {KILLS} kills, {repeats} repeated")
