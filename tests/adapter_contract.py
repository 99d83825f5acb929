"""What every adapter must do with a Turn, written once and run against each adapter.

`AdapterContract` holds the checks; each adapter's test module subclasses it and provides the
`harness` fixture (an `AdapterHarness`): `tests/test_console_contract.py`,
`tests/test_telegram_contract.py`, `tests/test_matrix_contract.py`.

The harness runs the real adapter with a `RecordingDispatcher` that writes down, in order, each
`handle`, `confirm_sent`, cursor move and event kept by the store (`Store.receive`), and at each
confirm asks the harness whether the replies really reached the platform. The platform's cursor
may pass an event only once it is confirmed, or kept by the store until it is.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.dispatcher import Dispatcher, StepResult
from bot.messages import Choice, Incoming, Reply, Turn
from bot.store import Store


class ContractDialogue:
    """Two replies per message, the first with choices; texts carry markup-like characters."""

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        said = incoming.text if incoming.text is not None else "(début)"
        replies = [
            Reply(
                f"1/2 <b>KB & co</b> « {said} »",
                (Choice("a", "Option <A> & 1"), Choice("b", "Option B")),
            ),
            Reply(f"2/2 fin pour « {said} »"),
        ]
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
    """The real dispatcher, with a journal of what the adapter asked of it and when."""

    def __init__(
        self,
        store: Store,
        journal: Journal,
        on_confirm: Callable[[str], Awaitable[bool]],
        cursor: Callable[[str], bool] | None = None,
    ) -> None:
        """`cursor`: tells the name of the adapter's platform cursor (None: it has none)."""
        super().__init__(store, ContractDialogue)
        self.journal = journal
        self.on_confirm = on_confirm
        self.turns: dict[str, Turn] = {}
        original = store.set_cursor

        async def recording_set_cursor(name: str, value: str) -> None:
            if cursor is not None and cursor(name):
                journal.entries.append(("cursor", value))
            await original(name, value)

        store.set_cursor = recording_set_cursor  # type: ignore[method-assign]
        original_receive = store.receive

        async def recording_receive(
            platform: str, events: Sequence[tuple[str, str]], cursors: Sequence[tuple[str, str]]
        ) -> list[str]:
            new = await original_receive(platform, events, cursors)
            journal.entries += [("kept", event_id) for event_id, _ in events]
            journal.entries += [
                ("cursor", v) for n, v in cursors if cursor is not None and cursor(n)
            ]
            return new

        store.receive = recording_receive  # type: ignore[method-assign]

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


@dataclass
class Delivered:
    """One message as the person receives it."""

    text: str  # what the person reads
    markup: str | None  # the rich form the platform renders (HTML), if any
    choices: list[str]  # the choice labels the person can see (buttons or numbered lines)


def numbered_choices(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\d+\. (.*)$", text, re.MULTILINE)]


class AdapterHarness(Protocol):
    journal: Journal
    has_cursor: bool

    async def say(self, text: str) -> list[Delivered]:
        """Send `text` as the person; return what the person then received, in order."""

    def covers(self, cursor: str, event_id: str) -> bool:
        """Whether moving the cursor to `cursor` acknowledges `event_id` to the platform."""


class AdapterContract:
    """The contract. Subclasses provide a `harness` fixture."""

    async def test_every_reply_delivered_in_order_with_visible_choices(
        self, harness: AdapterHarness
    ) -> None:
        got = await harness.say("bonjour")
        assert [d.text.split("\n")[0] for d in got] == [
            "1/2 <b>KB & co</b> « bonjour »",
            "2/2 fin pour « bonjour »",
        ]
        assert got[0].choices == ["Option <A> & 1", "Option B"]

    async def test_escaping_is_safe(self, harness: AdapterHarness) -> None:
        got = await harness.say("<img src=x onerror=alert(1)> & <b>gras</b>")
        assert "<img src=x onerror=alert(1)> & <b>gras</b>" in got[0].text
        for delivered in got:
            if delivered.markup is not None:
                for tag in ("<img", "<b>gras", "<A>", "<script"):
                    assert tag not in delivered.markup

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
        kept: set[str] = set()
        seen_cursor = False
        for kind, value in journal.entries:
            if kind == "kept":
                kept.add(value)
            elif kind == "handle":
                pending.add(value)
            elif kind == "confirm":
                assert value in pending, "confirm_sent without handle"
                pending.discard(value)
            elif kind == "cursor":
                passed = [e for e in pending - kept if harness.covers(value, e)]
                assert not passed, f"cursor moved past unconfirmed events {passed}"
                seen_cursor = True
        assert not pending
        assert seen_cursor or not harness.has_cursor
