"""The adapter contract (tests/adapter_contract.py) on the Matrix adapter, against a real
Synapse: replies must be on the server (checked through `/messages`) before `confirm_sent`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters import matrix as mx
from adapters.base import AdapterContext, render_numbered
from bot.store import Store
from tests.adapter_contract import (
    AdapterContract,
    Delivered,
    Journal,
    RecordingDispatcher,
    numbered_choices,
)
from tests.synapse_fixture import Synapse, person, synapse_server  # noqa: F401

# --- the Matrix instance -------------------------------------------------------------------------


@dataclass
class MatrixHarness:
    journal: Journal
    dispatcher: RecordingDispatcher
    say_fn: Callable[[str], Awaitable[list[Delivered]]]
    has_cursor: bool = True

    def covers(self, cursor: str, event_id: str) -> bool:
        return True  # next_batch acknowledges the whole batch

    async def say(self, text: str) -> list[Delivered]:
        return await self.say_fn(text)


def _server_messages(url: str, token: str, room_id: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"dir": "b", "limit": "50"})
    request = urllib.request.Request(
        f"{url}/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/messages?{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return list(json.load(resp)["chunk"])


@pytest.mark.synapse
class TestMatrixContract(AdapterContract):
    @pytest.fixture
    async def harness(self, synapse: Synapse, tmp_path: Path) -> AsyncIterator[MatrixHarness]:
        bot_id, password = synapse.register("bot")
        os.environ["TEST_CONTRACT_BOT_PW"] = password
        settings = {"homeserver": synapse.url, "user_id": bot_id,
                    "password_env": "TEST_CONTRACT_BOT_PW", "encryption": "off"}  # fmt: skip
        journal = Journal()
        room: dict[str, str] = {}
        async with Store.open(tmp_path / "a.db") as store, person(synapse, bot_id) as ben:

            async def on_confirm(event_id: str) -> bool:
                # Every reply computed for this event must already be on the server.
                turn = dispatcher.turns[event_id]
                chunk = await asyncio.to_thread(
                    _server_messages, synapse.url, ben.client.access_token, room["id"]
                )
                bodies = {e["content"].get("body") for e in chunk if e["sender"] == bot_id}
                return all(render_numbered(r) in bodies for r in turn.replies)

            dispatcher = RecordingDispatcher(
                store, journal, on_confirm, lambda name: name.endswith(":next_batch")
            )
            adapter = mx.create(AdapterContext(dispatcher, store, settings, str(tmp_path)))
            stop = asyncio.Event()
            task = asyncio.create_task(adapter.run(stop))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(adapter.ready.wait(), 30)
            room["id"] = await ben.dm()
            await ben.wait_replies(room["id"], 2)

            async def say(text: str) -> list[Delivered]:
                before = len(ben.replies(room["id"]))
                await ben.say(room["id"], text)
                got = await ben.wait_replies(room["id"], before + 2)
                return [
                    Delivered(r.body, r.formatted_body, numbered_choices(r.body))
                    for r in got[before:]
                ]

            try:
                yield MatrixHarness(journal, dispatcher, say)
            finally:
                stop.set()
                await asyncio.wait_for(task, 20)
