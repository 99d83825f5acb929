"""Shared fixtures: the shipped knowledge base loaded once, a fresh SQLite store per test, and a
`Conversation` helper so tests read like dialogues (push a message, read the replies)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import DEFAULT_KNOWLEDGE, DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.kb.knowledge import KnowledgeBase
from bot.kb.loader import load_knowledge
from bot.messages import Incoming, Location, Turn
from bot.places import Gazetteer
from bot.store import Store

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")


@pytest.fixture(scope="session")
def knowledge(gazetteer: Gazetteer) -> KnowledgeBase:
    return load_knowledge(DEFAULT_KNOWLEDGE, gazetteer)


@pytest.fixture(scope="session")
def dialogue(knowledge: KnowledgeBase, gazetteer: Gazetteer) -> OrientationDialogue:
    return OrientationDialogue(knowledge, gazetteer, DialogueSettings(), "54", today=TODAY)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store.open(tmp_path / "aiguillage.db") as opened:
        yield opened


@pytest.fixture
def dispatcher(store: Store, dialogue: OrientationDialogue) -> Dispatcher:
    return Dispatcher(store, lambda: dialogue)


class Conversation:
    """One person talking to the bot through the real dispatcher and store."""

    _ids = itertools.count(1)

    def __init__(self, dispatcher: Dispatcher, user: str = "u1", platform: str = "test") -> None:
        self.dispatcher = dispatcher
        self.user = user
        self.platform = platform
        self.last: Turn | None = None

    async def _send(self, **what: object) -> Turn:
        incoming = Incoming(self.platform, self.user, f"e{next(self._ids)}", **what)  # type: ignore[arg-type]
        self.last = await self.dispatcher.handle(incoming)
        await self.dispatcher.confirm_sent(incoming)
        return self.last

    async def say(self, text: str) -> Turn:
        return await self._send(text=text)

    async def press(self, choice_id: str) -> Turn:
        return await self._send(choice=choice_id)

    async def share_location(self, lat: float, lon: float) -> Turn:
        return await self._send(location=Location(lat, lon))

    async def open_link(self, payload: str) -> Turn:
        return await self._send(start=payload)

    @property
    def text(self) -> str:
        assert self.last is not None
        return "\n".join(r.text for r in self.last.replies)

    @property
    def choices(self) -> list[str]:
        assert self.last is not None
        return [c.id for r in self.last.replies for c in r.choices]


@pytest.fixture
def person(dispatcher: Dispatcher) -> Conversation:
    return Conversation(dispatcher)
