"""The outbox: messages to counsellors, admins and people, written first, sent after.

A message is a row of the `outbox` table (migration 4), written in the same transaction as
what caused it (a call-back taken, a request to notify). Each running adapter drains the rows
of its platform (`telegram`, `matrix`, `console`), the e-mail sender those of `email`; a row is
marked sent only once the platform accepted it, so a crash or a platform that is down loses
nothing: the row is sent when the platform is back. A transient failure is retried with
back-off; a permanent one (the group no longer exists, the person blocked the bot) is marked
`failed` and the call-back desk escalates the request. Once sent, the row's text is cleared
(only the platform's id of the message stays, to recognise a counsellor's reply to it).

A message to a person has no clear target: their chat is sealed with the key file
(`Store.seal`) and unsealed only when it is sent. Rows about a person carry their pseudonym,
so that /oubli erases them.

Rows written by another process (`aiguillage rappels --prendre`) are found at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.store import Store

log = logging.getLogger(__name__)

PLATFORMS = ("telegram", "matrix", "email", "console")
MAX_ATTEMPTS = 12  # transient failures: then the row is given up (failed) and escalated
BATCH = 20
FOLLOW_UP_CHOICES = (("cb:suivi:oui", "Oui"), ("cb:suivi:non", "Non"))
FOLLOW_UP_CHOICES_EN = (("cb:suivi:oui", "Yes"), ("cb:suivi:non", "No"))


@dataclass(frozen=True, slots=True)
class Action:
    """A button (Telegram) or an instruction (Matrix, e-mail): what one action does."""

    id: str  # e.g. "staff:prendre:12"
    label: str


@dataclass(frozen=True, slots=True)
class OutMessage:
    id: int
    platform: str
    target: str  # a chat id, room id, user id, e-mail address or a person's (unsealed) chat
    kind: str  # demande | relance | prise | personne | suivi | admin | info
    text: str
    subject: str = ""
    actions: tuple[Action, ...] = ()
    callback_id: int | None = None
    attempts: int = 0
    to_person: bool = False


def put(
    db: sqlite3.Connection,
    platform: str,
    target: str,
    kind: str,
    text: str,
    *,
    now: float,
    subject: str = "",
    actions: Sequence[Action] = (),
    callback_id: int | None = None,
    key: str | None = None,
    sealed: bytes | None = None,
    due_at: float | None = None,
) -> int:
    """Write one message (on the database thread, inside the caller's transaction)."""
    if platform not in PLATFORMS:
        raise ValueError(f"unknown outbox platform {platform!r}")
    body = {"text": text, "subject": subject, "actions": [[a.id, a.label] for a in actions]}
    cursor = db.execute(
        "INSERT INTO outbox (created_at, platform, target, sealed, key, kind, callback_id, body,"
        " due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (now, platform, target, sealed, key, kind, callback_id,
         json.dumps(body, ensure_ascii=False), now if due_at is None else due_at),
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


@dataclass
class Outbox:
    """The outbox of one store; `wake(platform)` tells a drainer of this process to look now."""

    store: Store
    clock: Callable[[], float] = time.time
    _events: dict[str, asyncio.Event] = field(default_factory=dict)

    def event(self, platform: str) -> asyncio.Event:
        return self._events.setdefault(platform, asyncio.Event())

    def wake(self, *platforms: str) -> None:
        for platform in platforms or tuple(self._events):
            self.event(platform).set()

    async def wait(self, platform: str, timeout: float) -> None:
        """Until a message may be due for `platform` (woken), or `timeout` seconds."""
        event = self.event(platform)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    async def due(self, platform: str, limit: int = BATCH) -> list[OutMessage]:
        """The messages of `platform` to send now, oldest first (a person's chat unsealed).

        A follow-up question ("did it help?") becomes the person's current question as it is
        handed out, so that its buttons are accepted as answers."""
        now = self.clock()

        def job(db: sqlite3.Connection) -> list[OutMessage]:
            rows = db.execute(
                "SELECT id, target, sealed, kind, body, callback_id, attempts, key FROM outbox"
                " WHERE platform = ? AND sent_at IS NULL AND failed IS NULL AND due_at <= ?"
                " ORDER BY due_at, id LIMIT ?",
                (platform, now, limit),
            ).fetchall()
            out: list[OutMessage] = []
            for row_id, target, sealed, kind, body, callback_id, attempts, key in rows:
                person = sealed is not None
                address = self.store.unseal(sealed) if person else str(target)
                if address is None:
                    db.execute(
                        "UPDATE outbox SET failed = 'adresse illisible' WHERE id = ?", (row_id,)
                    )
                    log.warning("outbox %d: the person's chat cannot be unsealed", row_id)
                    continue
                data = json.loads(body)
                if kind == "suivi" and key:
                    _ask_follow_up(db, str(key))
                out.append(
                    OutMessage(
                        id=int(row_id),
                        platform=platform,
                        target=address,
                        kind=str(kind),
                        text=str(data.get("text", "")),
                        subject=str(data.get("subject", "")),
                        actions=tuple(Action(str(a), str(b)) for a, b in data.get("actions", [])),
                        callback_id=None if callback_id is None else int(callback_id),
                        attempts=int(attempts),
                        to_person=person,
                    )
                )
            return out

        return await self.store.run(job)

    async def sent(self, message_id: int, ref: str | None = None) -> None:
        """Accepted by the platform: the text is cleared, the platform's id kept."""
        await self.store.run(
            lambda db: db.execute(
                "UPDATE outbox SET sent_at = ?, ref = ?, body = '{}' WHERE id = ?",
                (self.clock(), ref, message_id),
            )
        )

    async def retry(self, message: OutMessage, reason: str) -> None:
        """A transient failure: try again later; after MAX_ATTEMPTS, give up (escalated)."""
        attempts = message.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            await self.failed(message.id, reason)
            return
        delay = min(600.0, 5.0 * 2 ** (attempts - 1))
        await self.store.run(
            lambda db: db.execute(
                "UPDATE outbox SET attempts = ?, due_at = ? WHERE id = ?",
                (attempts, self.clock() + delay, message.id),
            )
        )
        log.warning("outbox %d (%s): %s, retry in %.0f s", message.id, message.kind, reason,
                    delay)  # fmt: skip

    async def failed(self, message_id: int, reason: str) -> None:
        """A permanent failure (never retried): the desk escalates a request it concerns."""
        await self.store.run(
            lambda db: db.execute(
                "UPDATE outbox SET failed = ?, body = '{}' WHERE id = ?", (reason[:200], message_id)
            )
        )
        log.warning("outbox %d given up: %s", message_id, reason)

    async def callback_of(self, platform: str, ref: str) -> int | None:
        """The call-back a sent message (by its platform id) was about, if any."""

        def job(db: sqlite3.Connection) -> int | None:
            row = db.execute(
                "SELECT callback_id FROM outbox WHERE platform = ? AND ref = ?"
                " AND callback_id IS NOT NULL",
                (platform, ref),
            ).fetchone()
            return None if row is None else int(row[0])

        return await self.store.run(job)

    async def pending(self, platform: str | None = None) -> list[dict[str, Any]]:
        """Rows not sent yet (for `aiguillage rappels` and tests): no texts."""
        sql = (
            "SELECT id, platform, kind, callback_id, attempts, failed FROM outbox"
            " WHERE sent_at IS NULL"
        )
        args: tuple[Any, ...] = ()
        if platform:
            sql += " AND platform = ?"
            args = (platform,)
        names = ("id", "platform", "kind", "callback_id", "attempts", "failed")

        def job(db: sqlite3.Connection) -> list[dict[str, Any]]:
            return [dict(zip(names, r, strict=True)) for r in db.execute(sql, args)]

        return await self.store.run(job)


def _ask_follow_up(db: sqlite3.Connection, key: str) -> None:
    """Make "did it help?" the person's current question (its buttons are then accepted)."""
    row = db.execute("SELECT state FROM conversations WHERE key = ?", (key,)).fetchone()
    if row is None:
        return
    state = json.loads(row[0])
    choices = FOLLOW_UP_CHOICES_EN if state.get("lang") == "en" else FOLLOW_UP_CHOICES
    state["asking"] = "suivi"
    state["choices"] = [list(c) for c in choices]
    db.execute(
        "UPDATE conversations SET state = ? WHERE key = ?",
        (json.dumps(state, ensure_ascii=False), key),
    )


async def drain(
    outbox: Outbox,
    platform: str,
    send: Callable[[OutMessage], Any],
    stop: asyncio.Event,
    poll_s: float = 2.0,
) -> None:
    """Send `platform`'s due messages until `stop`: `send(message)` returns the platform's id
    of the message (or None) and raises `Undeliverable` or `TryLater`."""
    while not stop.is_set():
        try:
            messages = await outbox.due(platform)
        except Exception as exc:  # the store may be briefly busy: try at the next poll
            log.warning("outbox (%s): cannot read (%s)", platform, type(exc).__name__)
            messages = []
        for message in messages:
            if stop.is_set():
                return
            try:
                ref = await send(message)
            except Undeliverable as exc:
                await outbox.failed(message.id, str(exc))
            except TryLater as exc:
                await outbox.retry(message, str(exc))
            except Exception as exc:  # a bug or an unexpected error: retried, never lost
                await outbox.retry(message, type(exc).__name__)
            else:
                await outbox.sent(message.id, None if ref is None else str(ref))
        if len(messages) < BATCH:
            waiter = asyncio.ensure_future(outbox.wait(platform, poll_s))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()


class Undeliverable(Exception):
    """The platform will never take this message (no such chat, blocked): do not retry."""


class TryLater(Exception):
    """The platform could not take it now (network, rate limit): retry with back-off."""
