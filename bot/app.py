"""Wiring: the gazetteer, the knowledge base, the store and the dispatcher, built once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.flood import FloodControl
from bot.kb.knowledge import KnowledgeBase, KnowledgeError, Problem
from bot.kb.loader import load_knowledge
from bot.places import Gazetteer
from bot.store import Store

log = logging.getLogger(__name__)


class KnowledgeHolder:
    """The knowledge base in force and the dialogue built on it; reload swaps both at once.

    An invalid knowledge base never replaces a good one: `reload` keeps the last good version
    and returns the problems for admins.
    """

    def __init__(self, config: Config, gazetteer: Gazetteer, knowledge: KnowledgeBase) -> None:
        self._config = config
        self._gazetteer = gazetteer
        self._knowledge, self._dialogue = knowledge, self._dialogue_for(knowledge)

    @property
    def current(self) -> KnowledgeBase:
        return self._knowledge

    def dialogue(self) -> OrientationDialogue:
        return self._dialogue

    async def reload(self, directory: Path | None = None) -> list[Problem]:
        target = directory or self._config.knowledge
        try:
            # Loading and compiling both take a while at national scale: off the event loop.
            knowledge, dialogue = await asyncio.to_thread(self._build, target)
        except KnowledgeError as exc:
            log.warning("reload refused: %d problem(s) in the knowledge base", len(exc.problems))
            return exc.problems
        self._knowledge, self._dialogue = knowledge, dialogue
        log.info("knowledge base reloaded from %s", target)
        return []

    def _build(self, directory: Path) -> tuple[KnowledgeBase, OrientationDialogue]:
        knowledge = load_knowledge(directory, self._gazetteer)
        return knowledge, self._dialogue_for(knowledge)

    def _dialogue_for(self, knowledge: KnowledgeBase) -> OrientationDialogue:
        return OrientationDialogue(
            knowledge, self._gazetteer, self._config.dialogue, self._config.departement
        )


@dataclass(frozen=True, slots=True)
class App:
    config: Config
    gazetteer: Gazetteer
    knowledge: KnowledgeHolder
    store: Store
    dispatcher: Dispatcher


def load_static(config: Config) -> tuple[Gazetteer, KnowledgeBase]:
    """Load the gazetteer and the knowledge base; raises KnowledgeError if it is invalid."""
    gazetteer = Gazetteer.load(config.knowledge / "communes.csv.gz")
    knowledge = load_knowledge(config.knowledge, gazetteer)
    gazetteer.warm_up(config.departement)  # so that the first person does not wait
    return gazetteer, knowledge


@asynccontextmanager
async def open_app(config: Config) -> AsyncIterator[App]:
    gazetteer, knowledge = await asyncio.to_thread(load_static, config)
    holder = KnowledgeHolder(config, gazetteer, knowledge)
    async with Store.open(config.database) as store:
        await store.prune()
        dispatcher = Dispatcher(store, holder.dialogue, flood=FloodControl())
        yield App(config, gazetteer, holder, store, dispatcher)
