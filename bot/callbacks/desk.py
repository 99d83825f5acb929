"""Taking a call-back request and recording its outcome, from any channel.

One action takes a request: a "Je prends" button on Telegram, a reply or a 👍 reaction on
Matrix, `aiguillage rappels --prendre ID` in the terminal. The first counsellor wins; the
others are told who has it. Taking it writes, in the same transaction, the message that tells
the person who took it (to their own chat, through the outbox) and the confirmation to the
channels that got the request. The outcome (reached, not reached, oriented elsewhere) is
recorded the same ways; if the person opted in, a "did it help?" question is queued for later.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.callbacks import OUTCOMES
from bot.callbacks.summary import outcome_actions, outcome_text, taken_text
from bot.privacy import mask_personal
from bot.staff import outbox
from bot.staff.outbox import FOLLOW_UP_CHOICES, FOLLOW_UP_CHOICES_EN, Action, Outbox
from bot.store import Store
from bot.texts import t

log = logging.getLogger(__name__)

DAY_S = 24 * 3600
MAX_NAME = 60
MAX_NOTE = 200
MAX_MESSAGE = 2000

TakeStatus = Literal["pris", "deja", "inconnu", "repete"]
OutcomeStatus = Literal["ok", "inconnu", "resultat_inconnu", "repete"]
WriteStatus = Literal["ok", "inconnu", "repete"]
Event = tuple[str, str]  # (platform, event id) of the counsellor's reply or button press


@dataclass(frozen=True, slots=True)
class Taken:
    status: TakeStatus
    by: str | None = None  # who has it (the one who just took it, or the one who had it)


class CallbackDesk:
    def __init__(
        self,
        store: Store,
        box: Outbox,
        *,
        follow_up_after_s: float = 7 * DAY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._outbox = box
        self._follow_up_after_s = follow_up_after_s
        self._clock = clock

    async def take(
        self, callback_id: int, by: str, via: str = "cli", event: Event | None = None
    ) -> Taken:
        """`by` takes the request (first one wins); the person is told who took it. `event`:
        the platform event that says so ("repete" when it was acted on already)."""
        name = _clean_name(by)
        now = self._clock()

        def job(db: sqlite3.Connection) -> Taken:
            if not _first_time(db, event, now):
                return Taken("repete")
            row = db.execute(
                "SELECT status, taken_by, key, platform, address, lang, contact, phone, handler"
                " FROM callbacks WHERE id = ?",
                (callback_id,),
            ).fetchone()
            if row is None:
                return Taken("inconnu")
            status, taken_by, key, platform, address, lang, contact, phone, handler = row
            if status != "nouveau":
                return Taken("deja", str(taken_by or "un autre conseiller"))
            db.execute(
                "UPDATE callbacks SET status = 'pris', taken_at = ?, taken_by = ? WHERE id = ?",
                (now, name, callback_id),
            )
            who = f"{name} ({handler})" if handler else name
            lang = str(lang or "fr")
            if address is not None:
                key_text = "callback_taken_here" if contact == "ici" or not phone else (
                    "callback_taken_phone")  # fmt: skip
                outbox.put(
                    db, str(platform), "", "personne", t(lang, key_text, who=who, phone=phone),
                    now=now, callback_id=callback_id, key=str(key), sealed=bytes(address),
                )  # fmt: skip
            for target_platform, target in _staff_targets(db, callback_id):
                outbox.put(
                    db, target_platform, target, "prise",
                    taken_text(callback_id, name, target_platform), now=now,
                    subject=f"Demande de rappel n°{callback_id} prise par {name}",
                    actions=outcome_actions(callback_id), callback_id=callback_id, key=str(key),
                )  # fmt: skip
            return Taken("pris", name)

        taken = await self._store.run(job)
        if taken.status == "pris":
            log.info("call-back %d taken (via %s)", callback_id, via)
            self._outbox.wake()
        return taken

    async def record_outcome(
        self,
        callback_id: int,
        outcome: str,
        by: str,
        note: str | None = None,
        event: Event | None = None,
    ) -> OutcomeStatus:
        """Record what came of the request; queue the follow-up if the person opted in."""
        if outcome not in OUTCOMES:
            return "resultat_inconnu"
        name = _clean_name(by)
        clean_note = mask_personal(note.strip())[:MAX_NOTE] if note and note.strip() else None
        now = self._clock()

        def job(db: sqlite3.Connection) -> OutcomeStatus:
            if not _first_time(db, event, now):
                return "repete"
            row = db.execute(
                "SELECT key, platform, address, lang, follow_up, followed_up_at FROM callbacks"
                " WHERE id = ?",
                (callback_id,),
            ).fetchone()
            if row is None:
                return "inconnu"
            key, platform, address, lang, follow_up, followed_up_at = row
            db.execute(
                "UPDATE callbacks SET status = ?, outcome_at = ?, outcome_note = ?,"
                " taken_by = coalesce(taken_by, ?), taken_at = coalesce(taken_at, ?)"
                " WHERE id = ?",
                (outcome, now, clean_note, name, now, callback_id),
            )
            if follow_up and address is not None and followed_up_at is None:
                due = now + self._follow_up_after_s
                choices = FOLLOW_UP_CHOICES_EN if lang == "en" else FOLLOW_UP_CHOICES
                outbox.put(
                    db, str(platform), "", "suivi", t(str(lang or "fr"), "callback_follow_up"),
                    now=now, due_at=due, callback_id=callback_id, key=str(key),
                    sealed=bytes(address), actions=[Action(i, label) for i, label in choices],
                )  # fmt: skip
                db.execute(
                    "UPDATE callbacks SET followed_up_at = ? WHERE id = ?", (due, callback_id)
                )
            label = OUTCOMES[outcome] + (f" — {clean_note}" if clean_note else "")
            for target_platform, target in _staff_targets(db, callback_id):
                if target_platform == "email":
                    continue  # the mail recipients recorded it themselves or see it in chat
                outbox.put(
                    db, target_platform, target, "info", outcome_text(callback_id, label, name),
                    now=now, callback_id=callback_id, key=str(key),
                )  # fmt: skip
            return "ok"

        result = await self._store.run(job)
        if result == "ok":
            log.info("call-back %d: outcome %s", callback_id, outcome)
            self._outbox.wake()
        return result

    async def write(
        self, callback_id: int, by: str, text: str, event: Event | None = None
    ) -> WriteStatus:
        """A counsellor's message to the person ("écrivez-moi ici"), through the outbox to
        their own chat. "inconnu" if the request is gone or the text empty."""
        message = text.strip()[:MAX_MESSAGE]
        name = _clean_name(by)
        now = self._clock()

        def job(db: sqlite3.Connection) -> WriteStatus:
            if not _first_time(db, event, now):
                return "repete"
            if not message:
                return "inconnu"
            row = db.execute(
                "SELECT key, platform, address, lang, handler FROM callbacks WHERE id = ?",
                (callback_id,),
            ).fetchone()
            if row is None or row[2] is None:
                return "inconnu"
            key, platform, address, lang, handler = row
            who = f"{name} ({handler})" if handler else name
            db.execute(
                "UPDATE callbacks SET status = 'pris', taken_at = coalesce(taken_at, ?),"
                " taken_by = coalesce(taken_by, ?) WHERE id = ? AND status = 'nouveau'",
                (now, name, callback_id),
            )
            outbox.put(
                db, str(platform), "", "personne",
                t(str(lang or "fr"), "callback_message", who=who, message=message),
                now=now, callback_id=callback_id, key=str(key), sealed=bytes(address),
            )  # fmt: skip
            return "ok"

        written = await self._store.run(job)
        if written == "ok":
            log.info("call-back %d: a counsellor's message queued for the person", callback_id)
            self._outbox.wake()
        return written

    async def act_on_reply(
        self,
        callback_id: int,
        action: str,
        note: str | None,
        by: str,
        via: str,
        event: Event | None = None,
    ) -> str:
        """What a counsellor's reply to a request says (`staff_action`), done: take it, write
        to the person, or record the outcome. Returns the notice for the staff chat ("" when
        the request's own update says it all, or when `event` was acted on already)."""
        if action == "prendre":
            taken = await self.take(callback_id, by, via=via, event=event)
            if taken.status == "deja":
                return f"Demande n°{callback_id} déjà prise par {taken.by}. / Already taken."
            return ""
        if action == "ecrire":
            written = await self.write(callback_id, by, note or "", event=event)
            if written == "repete":
                return ""
            if written == "ok":
                return "Message transmis à la personne. / Message sent."
            return f"Demande n°{callback_id} : message non transmis. / Not sent."
        if await self.record_outcome(callback_id, action, by, note, event) not in ("ok", "repete"):
            return f"Demande n°{callback_id} introuvable. / Request not found."
        return ""


def _first_time(db: sqlite3.Connection, event: Event | None, now: float) -> bool:
    """Whether `event` is acted on for the first time. It is noted in the transaction of the
    action itself: either both are written or neither, so a platform that delivers the event
    again (after a restart, say) is not obeyed twice."""
    if event is None:
        return True
    cursor = db.execute(
        "INSERT OR IGNORE INTO staff_events (platform, event_id, received_at) VALUES (?, ?, ?)",
        (*event, now),
    )
    return cursor.rowcount == 1


def _staff_targets(db: sqlite3.Connection, callback_id: int) -> list[tuple[str, str]]:
    """The staff channels that were sent the request (first and fallback)."""
    rows = db.execute(
        "SELECT DISTINCT platform, target FROM outbox WHERE callback_id = ?"
        " AND kind IN ('demande', 'relance') AND sealed IS NULL ORDER BY platform, target",
        (callback_id,),
    ).fetchall()
    return [(str(p), str(t_)) for p, t_ in rows]


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())[:MAX_NAME]
    return cleaned or "un conseiller"
