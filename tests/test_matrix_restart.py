"""Exactly-once across hard crashes: the bot process (`python -m bot run --adapter matrix`) is
killed with SIGKILL while several beneficiaries keep writing; after each restart every message
is answered exactly once, in order.

The core is deterministic, so the expected answers are computed by replaying the same events
on a fresh in-process app; each room's bot messages must equal that list exactly (a lost answer
makes it shorter, a repeated one longer)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from adapters.base import render_numbered
from bot.app import open_app
from bot.config import Config
from bot.messages import Incoming
from tests.synapse_fixture import Person, Synapse, person, synapse_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 3
MESSAGES = (
    "bonjour",
    "je cherche un chantier d'insertion",
    "Nancy",
    "je suis au RSA",
    "j'ai 34 ans",
    "c'est quoi une EI ?",
    "merci",
    "je voudrais passer le permis",
    "/aide",
    "au revoir",
)


def _start_bot(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--adapter", "matrix", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _expected(config: Config, texts: list[str]) -> list[str]:
    """What the core answers to a greeting then these texts, in a fresh conversation."""
    async with open_app(config) as app:
        bodies: list[str] = []
        events = [Incoming("matrix", "x", "$greet", start="")]
        events += [Incoming("matrix", "x", f"$m{i}", text=t) for i, t in enumerate(texts)]
        for incoming in events:
            turn = await app.dispatcher.handle(incoming)
            bodies += [render_numbered(reply) for reply in turn.replies]
        return bodies


def _explain(actual: list[str], expected: list[str], log: Path) -> str:
    first = next(
        (i for i, (a, e) in enumerate(zip(actual, expected, strict=False)) if a != e),
        min(len(actual), len(expected)),
    )
    return (
        f"{len(actual)} bot messages, {len(expected)} expected; first difference at {first}:\n"
        f"  got      {actual[first : first + 2]!r}\n  expected {expected[first : first + 2]!r}\n"
        f"bot log: {log}"
    )


async def _wait_log(log: Path, text: str, seen: int, timeout: float = 60) -> None:
    """Until `text` appears in the log more than `seen` times (lines are distinct by time)."""
    for _ in range(int(timeout / 0.05)):
        lines = {line for line in log.read_text(errors="replace").splitlines() if text in line}
        if len(lines) > seen:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot did not log {text!r} in {timeout} s")


async def _write(ben: Person, room: str, texts: list[str], rng: random.Random) -> None:
    for text in texts:
        await ben.say(room, text)
        await asyncio.sleep(rng.uniform(0.05, 0.35))


@pytest.mark.synapse
async def test_sigkill_while_people_write_loses_and_repeats_nothing(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot_id, password = synapse.register("bot")
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(
        yaml.safe_dump(
            {
                "database": str(tmp_path / "var" / "a.db"),
                "log_level": "INFO",
                "matrix": {
                    "homeserver": synapse.url,
                    "user_id": bot_id,
                    "password_env": "TEST_RESTART_BOT_PW",
                },
            }
        )
    )
    env = {**os.environ, "TEST_RESTART_BOT_PW": password, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "bot.log"
    rng = random.Random(7)
    proc = _start_bot(cfg_path, env, log)
    try:
        async with contextlib.AsyncExitStack() as stack:
            people = [
                await stack.enter_async_context(person(synapse, bot_id)) for _ in range(PEOPLE)
            ]
            rooms = [await ben.dm() for ben in people]
            for ben, room in zip(people, rooms, strict=True):
                await ben.wait_replies(room, 1, timeout=60)  # greeted: the bot is serving
            scripts = [
                [f"{t} ({n})" if t != "/aide" else t for t in MESSAGES] for n in range(PEOPLE)
            ]
            writers = [
                asyncio.create_task(_write(ben, room, script, random.Random(rng.random())))
                for ben, room, script in zip(people, rooms, scripts, strict=True)
            ]
            # two hard kills while the people are writing (each once the bot is serving again),
            # then a restart after a short outage
            for kill, pause in enumerate((1.2, 0.6)):
                await _wait_log(log, "session restored" if kill else "serving matrix", 0)
                await asyncio.sleep(pause)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                await asyncio.sleep(0.5)
                proc = _start_bot(cfg_path, env, log)
            await asyncio.gather(*writers)

            config = Config(database=tmp_path / "replay.db")
            for ben, room, script in zip(people, rooms, scripts, strict=True):
                expected = await _expected(config, script)
                await ben.wait_replies(room, len(expected), timeout=90)
            await asyncio.sleep(2.0)  # any duplicate would arrive by now
            for ben, room, script in zip(people, rooms, scripts, strict=True):
                expected = await _expected(config, script)
                actual = [r.body for r in ben.replies(room)]
                assert actual == expected, _explain(actual, expected, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    # the logs hold no message text and no user id
    logged = log.read_text(errors="replace")
    restored = {line for line in logged.splitlines() if "session restored" in line}
    logins = {line for line in logged.splitlines() if "logged in with the password" in line}
    assert len(restored) == 2 and len(logins) == 1  # the same device after each kill
    for secret in [bot_id, *(p.user_id for p in people), *MESSAGES[1:6]]:
        assert secret not in logged
