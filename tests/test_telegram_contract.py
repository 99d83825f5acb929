"""What every adapter promises the core, checked on the Telegram adapter (aiogram-style contract:
the same properties the console and Matrix adapters must have).

1. Each platform event reaches the core as exactly one `Incoming` with the platform's name, a
   stable conversation key and a unique event id.
2. Every reply of a turn reaches the person, in order; nothing is sent for an empty turn.
3. The cursor moves only after `confirm_sent`; a re-delivered event is not answered twice.
4. `run(stop)` returns promptly once `stop` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from adapters.base import BUTTONS, LOCATION, Adapter
from adapters.telegram import TelegramAdapter, offset_cursor, update_id_of
from bot.dispatcher import Dialogue, Dispatcher, StepResult
from bot.messages import Incoming, Reply, Turn
from bot.store import Store
from tests.adapter_contract import AdapterContract, Delivered, Journal, RecordingDispatcher
from tests.telegram_harness import telegram_bot
from tests.telegram_server import BOT_ID, TOKEN, FakeTelegram

OFFSET_CURSOR = offset_cursor(BOT_ID)

# PTB 22 warns about RetryAfter.retry_after's future type from inside its own code.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class RecordingDialogue:
    def __init__(self) -> None:
        self.seen: list[Incoming] = []

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        self.seen.append(incoming)
        if incoming.text == "rien":
            return StepResult(Turn([]), state or {})
        replies = [Reply(f"{update_id_of(incoming.event_id)}/{n}") for n in range(3)]
        return StepResult(Turn(replies), {})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply("données")

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("désolé")


class CursorCheckingDispatcher(Dispatcher):
    """Fails the test if the adapter moved its offset past an update that is neither answered
    nor kept by the store (Telegram forgets what an offset passed)."""

    violations: ClassVar[list[str]] = []

    async def confirm_sent(self, incoming: Incoming) -> None:
        stored = await self.store.get_cursor(OFFSET_CURSOR)
        kept = {e for e, _ in await self.store.received(f"telegram:{BOT_ID}")}
        passed = stored is not None and int(stored) > update_id_of(incoming.event_id)
        if passed and incoming.event_id not in kept:
            CursorCheckingDispatcher.violations.append(incoming.event_id)
        await super().confirm_sent(incoming)


def test_declares_what_it_can_render() -> None:
    assert {BUTTONS, LOCATION} <= TelegramAdapter.capabilities
    assert TelegramAdapter.name == "telegram"
    _: type[Adapter] = TelegramAdapter  # structurally an Adapter


async def test_one_incoming_per_event_with_stable_keys(tmp_path: Path) -> None:
    dialogue = RecordingDialogue()
    async with telegram_bot(tmp_path, dialogue) as tg:
        ids = [await tg.send_text(7, "a"), await tg.send_text(7, "b"), await tg.send_text(8, "c")]
        await tg.replies(7)
    assert sorted(update_id_of(i.event_id) for i in dialogue.seen) == ids
    assert all(i.event_id.startswith(f"{BOT_ID}:") for i in dialogue.seen)  # scoped to the bot
    assert {i.platform for i in dialogue.seen} == {"telegram"}
    assert [i.conversation for i in dialogue.seen if i.text in ("a", "b")] == ["7", "7"]


async def test_all_replies_in_order_and_none_for_empty_turns(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path, RecordingDialogue()) as tg:
        first = await tg.send_text(7, "x")
        await tg.send_text(7, "rien")
        second = await tg.send_text(7, "y")
        texts = [s.text for s in await tg.replies(7)]
    assert texts == [f"{first}/0", f"{first}/1", f"{first}/2",
                     f"{second}/0", f"{second}/1", f"{second}/2"]  # fmt: skip


async def test_the_offset_passes_an_update_only_once_it_is_kept(tmp_path: Path) -> None:
    CursorCheckingDispatcher.violations = []
    async with telegram_bot(
        tmp_path, RecordingDialogue(), dispatcher_factory=CursorCheckingDispatcher
    ) as tg:
        for n in range(6):
            await tg.send_text(10 + n % 3, f"m{n}")
        for chat in (10, 11, 12):
            assert len(await tg.replies(chat)) == 6
        stored = await tg.store.get_cursor(OFFSET_CURSOR)
        assert stored is not None and int(stored) == tg.server.confirmed
        assert await tg.store.received(f"telegram:{BOT_ID}") == []  # all answered: none kept
    assert CursorCheckingDispatcher.violations == []


async def test_run_returns_promptly_on_stop(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path, RecordingDialogue()) as tg:
        adapter = tg.adapter
    # the harness set the stop event and awaited run() with a timeout; a second stop is a no-op
    stop = asyncio.Event()
    stop.set()
    async with asyncio.timeout(5):
        await adapter.run(stop)


# --- the shared adapter contract (tests/adapter_contract.py) ------------------------------------


@dataclass
class TelegramContractHarness:
    journal: Journal
    say_fn: Callable[[str], Awaitable[list[Delivered]]]
    has_cursor: bool = True

    async def say(self, text: str) -> list[Delivered]:
        return await self.say_fn(text)

    def covers(self, cursor: str, event_id: str) -> bool:
        return update_id_of(event_id) < int(cursor)  # getUpdates offset = first update not yet done


class TestTelegramContract(AdapterContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[TelegramContractHarness]:
        chat = 42
        journal = Journal()
        fake = await FakeTelegram(TOKEN).start()
        turns: dict[str, Turn] = {}

        async def on_confirm(event_id: str) -> bool:
            # Every reply computed for this event must already be accepted by the server.
            visible = {s.text for s in fake.sent[chat]}
            return all(r.text in visible for r in turns[event_id].replies)

        def factory(store: Store, _dialogue: Callable[[], Dialogue]) -> Dispatcher:
            dispatcher = RecordingDispatcher(store, journal, on_confirm, OFFSET_CURSOR.__eq__)
            turns.update(dispatcher.turns)
            dispatcher.turns = turns
            return dispatcher

        async def say(text: str) -> list[Delivered]:
            await fake.send_text(chat, text)
            sent = await fake.replies(chat)
            return [
                Delivered(s.text, s.raw if s.parse_mode else None, [b[0] for b in s.buttons])
                for s in sent
            ]

        try:
            async with telegram_bot(tmp_path, server=fake, dispatcher_factory=factory):
                yield TelegramContractHarness(journal, say)
        finally:
            await fake.stop()
