"""The dispatcher: flood control, one lock per conversation, one database round trip per turn.

For each incoming event: pseudonymise the conversation → ask the flood control whether the
message goes now, later (the person's own turns wait, nobody else's) or is not read → take the
conversation's lock → one job on the database thread (`Store.run_turn`): if the event was seen,
return what was computed for it (or nothing if it was already sent); else load the state, run the
dialogue step, and write state, inbox row, usage and requests in one transaction → return the
turn. The adapter sends the replies, then calls `confirm_sent` (queued, committed with the next
database work), then advances its platform cursor (a write queued after it, so never before it).

A crash anywhere loses nothing: before the commit, the platform re-delivers the event; after it,
the stored turn is returned again on re-delivery.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.flood import READ_NOW, Admission, FloodControl, Verdict, notice_reply
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
    def __init__(
        self,
        store: Store,
        dialogue: Callable[[], Dialogue],
        flood: FloodControl | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`dialogue` returns the current dialogue (it changes when the knowledge is reloaded).

        `flood`: per-person flood control (`bot/flood.py`); None handles every message at once
        (tests, benchmarks). The bot's wiring (`bot/app.py`) turns it on."""
        self._store = store
        self._dialogue = dialogue
        self._locks = ConversationLocks()
        self._flood = flood
        self._clock = clock

    @property
    def store(self) -> Store:
        return self._store

    async def handle(self, incoming: Incoming) -> Turn:
        """The replies to send for this event: empty if it was already handled and sent."""
        key = self._store.key_for(incoming.platform, incoming.conversation)
        admission = (
            self._flood.admit(incoming.platform, key, self._clock())
            if self._flood is not None
            else READ_NOW
        )
        async with self._locks.hold(key):
            if admission.verdict is Verdict.DELAYED:
                wait = admission.start_at - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            outcome = await self._store.run_turn(
                incoming.platform,
                key,
                incoming.event_id,
                lambda state, personal_data: self._decide(
                    incoming, key, admission, state, personal_data
                ),
            )
        if outcome.duplicate:
            log.info("duplicate event %s/%s", incoming.platform, incoming.event_id)
            if self._flood is not None and admission.reads:
                self._flood.refund(incoming.platform, key)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s turn: %d replies, %s", incoming.platform, incoming.kind,
                      len(outcome.turn.replies), admission.verdict.value)  # fmt: skip
        return outcome.turn

    def failure_reply(self, incoming: Incoming) -> Reply:
        """The apology an adapter sends when it gives up on an event after retries."""
        return self._dialogue().failure_reply(None)

    async def confirm_sent(self, incoming: Incoming) -> None:
        """The turn's replies reached the person. Queued: written with the next database work
        (at the latest with the adapter's next cursor write), without a round trip of its own."""
        key = self._store.key_for(incoming.platform, incoming.conversation)
        self._store.mark_sent_soon(incoming.platform, key, incoming.event_id)

    # --- on the database thread ----------------------------------------------------------------

    def _decide(
        self,
        incoming: Incoming,
        key: str,
        admission: Admission,
        state: dict[str, Any] | None,
        personal_data: Callable[[], dict[str, Any]],
    ) -> TurnRecord:
        if not admission.reads:  # a flood beyond the bound: not read, told once
            return TurnRecord(
                platform=incoming.platform,
                event_id=incoming.event_id,
                key=key,
                state=state,
                turn=Turn([notice_reply()] if admission.notify else []),
                usage=(UsageEvent(kind="trop_vite"),) if admission.notify else (),
                keep_state=True,
            )
        dialogue = self._dialogue()
        result = self._step(dialogue, state, incoming)
        if result.show_personal_data:
            shown = dialogue.personal_data_reply(personal_data(), result.state)
            result.turn.replies.insert(0, shown)
        usage = tuple(result.usage)
        if admission.notify:
            result.turn.replies.insert(0, notice_reply())
            usage += (UsageEvent(kind="trop_vite"),)
        return TurnRecord(
            platform=incoming.platform,
            event_id=incoming.event_id,
            key=key,
            state=result.state,
            turn=result.turn,
            usage=usage,
            unanswered=tuple(result.unanswered),
            callbacks=tuple(result.callbacks),
            # the person's chat, kept (sealed) only with a call-back they consented to
            address=incoming.conversation if result.callbacks else None,
        )

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
