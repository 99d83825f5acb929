"""Running the Telegram adapter in-process against the local Bot API server (tests/telegram_server).

`async with telegram_bot(tmp_path, dialogue) as tg:` gives a `Harness` whose `send_text`,
`press`, … inject updates and whose `replies(chat)` returns what the bot sent to that chat once
every injected update is confirmed — so tests read like conversations and never sleep blindly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.base import AdapterContext, Backoff
from adapters.telegram import TelegramAdapter, TelegramSettings
from bot.dispatcher import Dialogue, Dispatcher, StepResult
from bot.messages import Choice, Incoming, Reply, StructureCard, Turn
from bot.store import Store
from tests.telegram_server import TOKEN, FakeTelegram, Sent

LONG_CHOICE = "orientation:garage_solidaire:" + "x" * 60  # more than 64 bytes


class EchoDialogue:
    """A stand-in for the real dialogue: echoes what it got and offers a few buttons."""

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        count = int((state or {}).get("n", 0)) + 1
        new_state: dict[str, Any] | None = {"n": count}
        text = incoming.text or ""
        replies: list[Reply]
        if text == "boom":
            raise RuntimeError("dialogue bug")
        if text == "/oubli":
            return StepResult(Turn([Reply("C'est effacé.")]), None)
        if text.startswith("long"):
            para = "Une ligne assez longue pour remplir le message. " * 20
            replies = [Reply("\n\n".join(f"§{i} {para}" for i in range(12)), choices=_choices())]
        elif text == "deux":
            replies = [Reply("premier message"), Reply("second message", choices=_choices())]
        elif text == "carte":
            card = StructureCard("s1", "Garage <Solidaire> & Co", "garage_solidaire", 1.2,
                                 latitude=48.6921, longitude=6.1844)  # fmt: skip
            replies = [Reply("Voici une structure proche.", structures=(card,))]
        elif text in ("lieu", "lieu à distance"):
            pinned = text == "lieu"
            card = StructureCard("s1", "Garage <Solidaire> & Co", "garage_solidaire", 1.2,
                                 adresse="3 rue de la Paix", commune="Nancy",
                                 latitude=48.6921 if pinned else None,
                                 longitude=6.1844 if pinned else None)  # fmt: skip
            replies = [Reply("1. Garage : tout sur lui.", structures=(card,), venue=True)]
        elif text == "position":
            replies = [Reply("Où êtes-vous ?", request_location=True)]
        else:
            replies = [Reply(f"echo {count}: {_describe(incoming)}", choices=_choices())]
        return StepResult(Turn(replies), new_state)

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply("Vos données.")

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("Désolé, un souci.")


def _choices() -> tuple[Choice, ...]:
    return (
        Choice("oui", "Oui"),
        Choice("non", "Non"),
        Choice(LONG_CHOICE, "Un garage solidaire près de chez moi"),
    )


def _describe(incoming: Incoming) -> str:
    if incoming.kind == "choice":
        return f"choice={incoming.choice}"
    if incoming.kind == "location":
        assert incoming.location is not None
        return f"location={incoming.location.lat},{incoming.location.lon}"
    if incoming.kind == "start":
        return f"start={incoming.start!r}"
    if incoming.kind == "unsupported":
        return f"unsupported={incoming.unsupported}"
    return f"text={incoming.text} lang={incoming.language}"


@dataclass
class Harness:
    server: FakeTelegram
    adapter: TelegramAdapter
    store: Store
    dispatcher: Dispatcher

    async def send_text(self, chat: int, text: str, language: str | None = "fr") -> int:
        return await self.server.send_text(chat, text, language)

    async def send_start(self, chat: int, payload: str = "") -> int:
        return await self.server.send_start(chat, payload)

    async def press(self, chat: int, label: str) -> int:
        return await self.server.press(chat, label)

    async def send_location(self, chat: int, lat: float, lon: float) -> int:
        return await self.server.send_location(chat, lat, lon)

    async def send_media(self, chat: int, kind: str) -> int:
        return await self.server.send_media(chat, kind)

    async def replies(self, chat: int, timeout: float = 10.0) -> list[Sent]:
        """Messages sent to `chat` since the last call, once the bot confirmed every update
        injected so far and answered every update it took."""
        last = max((u["update_id"] for u in self.server.updates), default=0)
        await self.server.wait_confirmed(last, timeout)
        async with asyncio.timeout(timeout):
            while self.adapter.waiting:
                await asyncio.sleep(0.01)
        return self.server.take(chat)

    async def say(self, chat: int, text: str) -> list[Sent]:
        await self.send_text(chat, text)
        return await self.replies(chat)


def settings_for(server: FakeTelegram, **extra: Any) -> TelegramSettings:
    raw = {"base_url": server.base_url, "poll_timeout": 5, **extra}
    return TelegramSettings.parse(raw, env={"AIGUILLAGE_TELEGRAM_TOKEN": server.token})


@asynccontextmanager
async def telegram_bot(
    tmp_path: Path,
    dialogue: Dialogue | None = None,
    *,
    server: FakeTelegram | None = None,
    dispatcher_factory: Callable[[Store, Callable[[], Dialogue]], Dispatcher] = Dispatcher,
    **settings: Any,
) -> AsyncIterator[Harness]:
    current: Dialogue = dialogue or EchoDialogue()
    own_server = server is None
    fake = server or await FakeTelegram(TOKEN).start()
    try:
        async with Store.open(tmp_path / "telegram.db") as store:
            dispatcher = dispatcher_factory(store, lambda: current)
            context = AdapterContext(dispatcher, store, {}, str(tmp_path))
            adapter = TelegramAdapter(
                context, settings_for(fake, **settings), backoff=Backoff(0.05, 0.5)
            )
            stop = asyncio.Event()
            fake.commands.clear()  # set again by this start: then it is serving
            task = asyncio.create_task(adapter.run(stop))
            try:
                await fake.wait_for(lambda: "" in fake.commands and "en" in fake.commands, 10)
                yield Harness(fake, adapter, store, dispatcher)
            finally:
                stop.set()
                async with asyncio.timeout(10):
                    await task
    finally:
        if own_server:
            await fake.stop()
