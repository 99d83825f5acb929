"""What every adapter must do with a Turn, written once and run against each adapter.

`AdapterContract` holds the checks; an adapter's test module subclasses it and provides the
`harness` fixture (an `AdapterHarness`). The Matrix instance is `TestMatrixContract` below.
(The contract class can move to its own module when the Telegram and console instances join.)

The harness runs the real adapter with a `RecordingDispatcher` and a `RecordingStore`, which
write down, in order, each `handle`, `confirm_sent` and `set_cursor`; at each confirm the
harness checks the replies really reached the platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from adapters import matrix as mx
from adapters.base import AdapterContext, render_numbered
from bot.dispatcher import Dispatcher, StepResult
from bot.messages import Choice, Incoming, Reply, Turn
from bot.store import Store
from tests.synapse_fixture import Synapse, person, synapse_server  # noqa: F401


class ContractDialogue:
    """Two replies per message, the first with choices; texts carry markup-like characters."""

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        said = incoming.text if incoming.text is not None else "(début)"
        replies = [
            Reply(f"1/2 <b>KB & co</b> « {said} »",
                  (Choice("a", "Option <A> & 1"), Choice("b", "Option B"))),
            Reply(f"2/2 fin pour « {said} »"),
        ]  # fmt: skip
        return StepResult(turn=Turn(replies), state={})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply("données")

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("oups")


@dataclass
class Journal:
    entries: list[tuple[str, str]] = field(default_factory=list)
    delivered_at_confirm: dict[str, bool] = field(default_factory=dict)


class RecordingDispatcher(Dispatcher):
    def __init__(
        self, store: Store, journal: Journal, on_confirm: Callable[[str], Awaitable[bool]]
    ) -> None:
        super().__init__(store, ContractDialogue)
        self.journal = journal
        self.on_confirm = on_confirm
        self.turns: dict[str, Turn] = {}

    async def handle(self, incoming: Incoming) -> Turn:
        turn = await super().handle(incoming)
        self.journal.entries.append(("handle", incoming.event_id))
        self.turns[incoming.event_id] = turn
        return turn

    async def confirm_sent(self, incoming: Incoming) -> None:
        ok = await self.on_confirm(incoming.event_id)
        self.journal.delivered_at_confirm[incoming.event_id] = ok
        self.journal.entries.append(("confirm", incoming.event_id))
        await super().confirm_sent(incoming)


class RecordingStore(Store):
    journal: Journal

    async def set_cursor(self, name: str, value: str) -> None:
        self.journal.entries.append(("cursor", value))
        await super().set_cursor(name, value)


@dataclass
class Delivered:
    body: str
    html: str | None


class AdapterHarness(Protocol):
    journal: Journal
    dispatcher: RecordingDispatcher

    async def say(self, text: str) -> list[Delivered]:
        """Send `text` as the person; return what the person then received, in order."""


class AdapterContract:
    """The contract. Subclasses provide a `harness` fixture."""

    async def test_every_reply_delivered_in_order_with_visible_choices(
        self, harness: AdapterHarness
    ) -> None:
        got = await harness.say("bonjour")
        assert [d.body.split("\n")[0] for d in got] == [
            "1/2 <b>KB & co</b> « bonjour »",
            "2/2 fin pour « bonjour »",
        ]
        assert "1. Option <A> & 1" in got[0].body and "2. Option B" in got[0].body

    async def test_escaping_is_safe(self, harness: AdapterHarness) -> None:
        got = await harness.say("<img src=x onerror=alert(1)> & <b>gras</b>")
        for delivered in got:
            if delivered.html is not None:
                for tag in ("<img", "<b>", "<A>", "<script"):
                    assert tag not in delivered.html
        assert got[0].html is not None and "&lt;img src=x" in got[0].html

    async def test_confirm_after_send_and_cursor_after_confirm(
        self, harness: AdapterHarness
    ) -> None:
        for text in ("un", "deux", "trois"):
            await harness.say(text)
        await asyncio.sleep(1.0)  # let the batch that holds the last message be stored
        journal = harness.journal
        handled = [e for kind, e in journal.entries if kind == "handle"]
        assert handled, "nothing was handled"
        assert all(journal.delivered_at_confirm[e] for e in handled), "confirmed before sent"
        pending: set[str] = set()
        seen_cursor = False
        for kind, value in journal.entries:
            if kind == "handle":
                pending.add(value)
            elif kind == "confirm":
                assert value in pending, "confirm_sent without handle"
                pending.discard(value)
            elif kind == "cursor":
                assert not pending, "cursor advanced before every event was confirmed"
                seen_cursor = True
        assert seen_cursor and not pending


# --- the Matrix instance -------------------------------------------------------------------------


@dataclass
class MatrixHarness:
    journal: Journal
    dispatcher: RecordingDispatcher
    say_fn: Callable[[str], Awaitable[list[Delivered]]]

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
        async with RecordingStore.open(tmp_path / "a.db") as store, person(synapse, bot_id) as ben:
            assert isinstance(store, RecordingStore)
            store.journal = journal

            async def on_confirm(event_id: str) -> bool:
                # Every reply computed for this event must already be on the server.
                turn = dispatcher.turns[event_id]
                chunk = await asyncio.to_thread(
                    _server_messages, synapse.url, ben.client.access_token, room["id"]
                )
                bodies = {e["content"].get("body") for e in chunk if e["sender"] == bot_id}
                return all(render_numbered(r) in bodies for r in turn.replies)

            dispatcher = RecordingDispatcher(store, journal, on_confirm)
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
                return [Delivered(r.body, r.formatted_body) for r in got[before:]]

            try:
                yield MatrixHarness(journal, dispatcher, say)
            finally:
                stop.set()
                await asyncio.wait_for(task, 20)
