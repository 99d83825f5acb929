"""Crash test on a real Synapse: 50 people write to the bot (`python -m bot run --adapter
matrix`, real dialogue) while it is killed hard (SIGKILL) three times at random moments and
restarted. Each room's bot messages must equal exactly what the core answers to that
conversation replayed on a fresh app: nothing lost, nothing repeated, in order, and the stored
states equal the replayed ones.

50 people × 20 messages: 1,000 messages, as issue 10 asks (`AIGUILLAGE_CRASH_MESSAGES=4` runs
a quicker 200). People are raw HTTP clients (no sync loop): Synapse's time goes to the bot.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from adapters.base import render_numbered
from bot.app import open_app
from bot.config import Config
from bot.messages import Incoming
from tests.synapse_fixture import Synapse, synapse_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
PEOPLE = 50
MESSAGES = int(os.environ.get("AIGUILLAGE_CRASH_MESSAGES", "20"))
KILLS = 3
TEXTS = ["bonjour", "je cherche un chantier d'insertion", "Nancy", "je suis au RSA",
         "c'est quoi une EI ?", "je voudrais passer le permis", "merci", "/aide",
         "j'ai 34 ans", "ma voiture est en panne"]  # fmt: skip


def _script(person: int) -> list[str]:
    return [f"{TEXTS[k % len(TEXTS)]} ({person}.{k})" for k in range(MESSAGES)]


class Client:
    """A person as a bare Matrix HTTP client."""

    def __init__(self, http: aiohttp.ClientSession, url: str, user_id: str, token: str) -> None:
        self.http, self.url, self.user_id = http, url, user_id
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        for attempt in range(20):
            async with self.http.request(
                method, f"{self.url}/_matrix/client/v3{path}", json=body, headers=self.headers
            ) as resp:
                data = await resp.json()
                if resp.status == 429 or resp.status >= 500:
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                assert resp.status == 200, (path, resp.status, data)
                return data
        raise AssertionError(f"{path}: Synapse kept refusing")

    async def dm(self, bot_id: str) -> str:
        body = {"is_direct": True, "invite": [bot_id], "preset": "trusted_private_chat"}
        return str((await self.call("POST", "/createRoom", body))["room_id"])

    async def say(self, room: str, text: str) -> None:
        path = f"/rooms/{urllib.parse.quote(room)}/send/m.room.message/{uuid.uuid4().hex}"
        await self.call("PUT", path, {"msgtype": "m.text", "body": text})

    async def bot_messages(self, room: str, bot_id: str) -> list[str]:
        query = urllib.parse.urlencode(
            {"dir": "b", "limit": "1000", "filter": json.dumps({"senders": [bot_id]})}
        )
        data = await self.call("GET", f"/rooms/{urllib.parse.quote(room)}/messages?{query}")
        events = [e for e in data["chunk"] if e.get("type") == "m.room.message"]
        return [str(e["content"].get("body")) for e in reversed(events)]


async def _expected(config: Config, scripts: list[list[str]]) -> tuple[list[list[str]], list[Any]]:
    """What the core answers to a greeting then each script, replayed on a fresh app."""
    async with open_app(config) as app:
        bodies, states = [], []
        for n, script in enumerate(scripts):
            events = [Incoming("matrix", f"x{n}", f"$greet{n}", start="")]
            events += [
                Incoming("matrix", f"x{n}", f"$m{n}.{i}", text=t) for i, t in enumerate(script)
            ]
            said: list[str] = []
            for incoming in events:
                turn = await app.dispatcher.handle(incoming)
                said += [render_numbered(reply) for reply in turn.replies]
            bodies.append(said)
            states.append(await app.store.load_state(app.store.key_for("matrix", f"x{n}")))
        return bodies, states


def _start(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--adapter", "matrix", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _serving(log: Path, seen: int, timeout: float = 90) -> None:
    """Until the bot has logged its readiness more than `seen` times."""
    for _ in range(int(timeout / 0.1)):
        text = log.read_text(errors="replace")
        if text.count("serving matrix") > seen:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not start")


@pytest.mark.synapse
async def test_fifty_people_while_the_bot_is_killed_three_times(
    synapse: Synapse, tmp_path: Path
) -> None:
    rng = random.Random(10)
    bot_id, password = synapse.register("bot")
    db = tmp_path / "var" / "a.db"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": str(db), "matrix": {
        "homeserver": synapse.url, "user_id": bot_id, "password_env": "TEST_CRASH_BOT_PW",
        "encryption": "off"}}))  # fmt: skip
    env = {**os.environ, "TEST_CRASH_BOT_PW": password, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "bot.log"
    scripts = [_script(n) for n in range(PEOPLE)]
    people = await asyncio.gather(
        *(asyncio.to_thread(synapse.register_with_token, "ben") for _ in range(PEOPLE))
    )
    proc = _start(config, env, log)
    async with aiohttp.ClientSession() as http:
        clients = [Client(http, synapse.url, user, token) for user, token in people]
        try:
            await _serving(log, 0)
            rooms = list(await asyncio.gather(*(c.dm(bot_id) for c in clients)))

            async def greeted(client: Client, room: str) -> None:
                # what a person writes before the bot joined is history: it is not answered
                for _ in range(900):
                    if await client.bot_messages(room, bot_id):
                        return
                    await asyncio.sleep(0.2)
                raise AssertionError("the bot did not greet")

            await asyncio.gather(*(greeted(c, r) for c, r in zip(clients, rooms, strict=True)))

            async def write(client: Client, room: str, script: list[str]) -> None:
                await asyncio.sleep(rng.uniform(0, 2))
                for text in script:
                    await client.say(room, text)
                    await asyncio.sleep(rng.uniform(0.2, 1.0))

            writers = asyncio.gather(
                *(write(c, r, s) for c, r, s in zip(clients, rooms, scripts, strict=True))
            )
            for kill in range(KILLS):
                await asyncio.sleep(rng.uniform(1.0, 3.0))
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                await asyncio.sleep(rng.uniform(0, 1.0))
                proc = _start(config, env, log)
                await _serving(log, kill + 1)
            await writers
            expected, states = await _expected(Config(database=tmp_path / "replay.db"), scripts)
            want = sum(len(e) for e in expected)
            for _ in range(600):  # until every answer arrived (or two minutes)
                got = await asyncio.gather(
                    *(c.bot_messages(r, bot_id) for c, r in zip(clients, rooms, strict=True))
                )
                if sum(len(g) for g in got) >= want:
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # a duplicate would arrive by now
            got = await asyncio.gather(
                *(c.bot_messages(r, bot_id) for c, r in zip(clients, rooms, strict=True))
            )
            for n, (actual, wanted) in enumerate(zip(got, expected, strict=True)):
                assert actual == wanted, (n, len(actual), len(wanted), log)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = sorted(json.dumps(json.loads(r[0]), sort_keys=True)
                        for r in conn.execute("SELECT state FROM conversations"))  # fmt: skip
    assert stored == sorted(json.dumps(s, sort_keys=True) for s in states)
    logged = log.read_text(errors="replace")
    assert logged.count("serving matrix") == KILLS + 1
    for secret in (bot_id, *(user for user, _ in people), *TEXTS[1:6]):
        assert secret not in logged
