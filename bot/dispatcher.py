"""The dispatcher: one lock per conversation, inbox dedupe, write-through state.

For each incoming event: take the conversation's lock → if the event was seen, return what was
computed for it (or nothing if it was already sent) → load state → run the dialogue step →
write state, inbox row, usage and requests in one transaction → return the turn. The adapter
sends the replies, then calls `confirm_sent`, then advances its platform cursor.

A crash anywhere loses nothing: before the commit, the platform re-delivers the event; after it,
the stored turn is returned again on re-delivery.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.messages import Incoming, Reply, Turn
from bot.store import CallbackRequest, Store, TurnRecord, Unanswered, UsageEvent

log = logging.getLogger(__name__)


@dataclass(slots=True)
class StepResult:
    """What the dialogue decided for one event; the dispatcher writes it all at once."""

    turn: Turn
    state: dict[str, Any] | None  # None: erase everything kept about the person
    usage: list[UsageEvent] = field(default_factory=list)
    unanswered: list[Unanswered] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)
    show_personal_data: bool = False


class Dialogue(Protocol):
    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult: ...

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply: ...

    def failure_reply(self, state: dict[str, Any] | None) -> Reply: ...


class ConversationLocks:
    """One asyncio.Lock per conversation key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class Dispatcher:
    def __init__(self, store: Store, dialogue: Callable[[], Dialogue]) -> None:
        """`dialogue` returns the current dialogue (it changes when the knowledge is reloaded)."""
        self._store = store
        self._dialogue = dialogue
        self._locks = ConversationLocks()

    @property
    def store(self) -> Store:
        return self._store

    async def handle(self, incoming: Incoming) -> Turn:
        """The replies to send for this event: empty if it was already handled and sent."""
        key = self._store.key_for(incoming.platform, incoming.conversation)
        async with self._locks.hold(key):
            seen = await self._store.inbox_entry(incoming.platform, incoming.event_id)
            if seen is not None:
                log.info("duplicate event %s/%s", incoming.platform, incoming.event_id)
                return seen.turn if (seen.turn is not None and not seen.sent) else Turn([])
            state = await self._store.load_state(key)
            dialogue = self._dialogue()
            result = self._step(dialogue, state, incoming)
            if result.show_personal_data:
                data = await self._store.personal_data(key)
                result.turn.replies.insert(0, dialogue.personal_data_reply(data, result.state))
            await self._store.commit_turn(
                TurnRecord(
                    platform=incoming.platform,
                    event_id=incoming.event_id,
                    key=key,
                    state=result.state,
                    turn=result.turn,
                    usage=tuple(result.usage),
                    unanswered=tuple(result.unanswered),
                    callbacks=tuple(result.callbacks),
                )
            )
            return result.turn

    def failure_reply(self, incoming: Incoming) -> Reply:
        """The apology an adapter sends when it gives up on an event after retries."""
        return self._dialogue().failure_reply(None)

    async def confirm_sent(self, incoming: Incoming) -> None:
        await self._store.mark_sent(incoming.platform, incoming.event_id)

    @staticmethod
    def _step(dialogue: Dialogue, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        try:
            return dialogue.step(state, incoming)
        except Exception as exc:
            # A bug must not cost the person their conversation: keep the state, apologise.
            # The exception's message may quote what the person wrote: log where, not what.
            where = "".join(traceback.format_tb(exc.__traceback__))
            log.error("dialogue step failed (%s event): %s\n%s", incoming.kind,
                      type(exc).__name__, where)  # fmt: skip
            return StepResult(
                turn=Turn([dialogue.failure_reply(state)]),
                state=state if state is not None else {},
                usage=[UsageEvent(kind="erreur")],
            )
