"""The running bot's call-back loop: every new request reaches a counsellors' channel; one not
taken within `conseillers.delai_prise_minutes` (or whose message could not be delivered) goes to
the next channel of its chain (`bot/staff/directory.py`), or is sent again as a reminder when
there is no other. A request with no channel at all is logged and reported to the admins; it
stays in `aiguillage rappels` and the dashboard. Nothing is dropped silently.

Each step is one database job: the rows it reads and the outbox messages it writes commit
together, so a crash in between sends nothing twice and forgets nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from bot.callbacks.summary import RequestView, instructions, request_text, take_actions
from bot.kb.knowledge import KnowledgeBase
from bot.staff import outbox
from bot.staff.directory import Channel, StaffDirectory
from bot.staff.outbox import Outbox
from bot.store import Store

log = logging.getLogger(__name__)

COLUMNS = ("id", "at", "key", "platform", "phone", "moment", "commune", "need", "referral",
           "contact", "lang", "departement", "details", "notified_at")  # fmt: skip


class CallbackNotifier:
    def __init__(
        self,
        store: Store,
        box: Outbox,
        directory: StaffDirectory,
        knowledge: Callable[[], KnowledgeBase],
        *,
        admins: list[tuple[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._outbox = box
        self._directory = directory
        self._knowledge = knowledge
        self._admins = admins or []
        self._clock = clock

    @property
    def escalation_s(self) -> float:
        return self._directory.settings.delai_prise_minutes * 60.0

    async def tick(self) -> int:
        """Notify new requests and escalate late ones; returns how many messages were queued."""
        kb = self._knowledge()
        now = self._clock()
        platforms: set[str] = set()

        def job(db: sqlite3.Connection) -> int:
            queued = self._notify_new(db, kb, now, platforms)
            queued += self._escalate(db, kb, now, platforms)
            return queued

        queued = await self._store.run(job)
        if platforms:
            self._outbox.wake(*platforms)
        return queued

    async def run(self, stop: asyncio.Event, interval: float = 5.0) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # never take the bot down; the next tick tries again
                log.error("call-back loop: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    # --- on the database thread ----------------------------------------------------------------

    def _rows(
        self, db: sqlite3.Connection, where: str, args: tuple[Any, ...]
    ) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM callbacks WHERE {where} ORDER BY id LIMIT 100"
        return [dict(zip(COLUMNS, r, strict=True)) for r in db.execute(sql, args)]

    def _notify_new(
        self, db: sqlite3.Connection, kb: KnowledgeBase, now: float, platforms: set[str]
    ) -> int:
        queued = 0
        for row in self._rows(db, "status = 'nouveau' AND notified_at IS NULL", ()):
            chain = self._directory.chain(kb, row["referral"], row["departement"])
            if not chain:
                log.warning(
                    "call-back %d: no counsellors' channel for département %s "
                    "(conseillers.canaux in config.yaml)",
                    row["id"],
                    row["departement"],
                )
                queued += self._tell_admins(db, row, now, platforms)
                db.execute("UPDATE callbacks SET notified_at = ? WHERE id = ?", (now, row["id"]))
                continue
            queued += self._send(db, kb, row, chain[0], "demande", "", now, platforms)
            db.execute(
                "UPDATE callbacks SET notified_at = ?, handler = coalesce(handler, ?) WHERE id = ?",
                (now, chain[0].label, row["id"]),
            )
        return queued

    def _escalate(
        self, db: sqlite3.Connection, kb: KnowledgeBase, now: float, platforms: set[str]
    ) -> int:
        queued = 0
        late = self._rows(
            db,
            "status = 'nouveau' AND notified_at IS NOT NULL AND escalated_at IS NULL AND"
            " (notified_at <= ? OR EXISTS (SELECT 1 FROM outbox WHERE outbox.callback_id ="
            " callbacks.id AND outbox.kind = 'demande' AND outbox.failed IS NOT NULL))",
            (now - self.escalation_s,),
        )
        for row in late:
            chain = self._directory.chain(kb, row["referral"], row["departement"])
            db.execute("UPDATE callbacks SET escalated_at = ? WHERE id = ?", (now, row["id"]))
            if not chain:
                continue  # the admins were told when it came
            target = chain[1] if len(chain) > 1 else chain[0]
            hours = max(0.0, (now - float(row["notified_at"])) / 3600)
            reminder = (
                f"⏰ Personne ne l'a encore prise (envoyée il y a {hours:.1f} h). "
                "/ Nobody has taken it yet."
            )
            log.info("call-back %d escalated to %s", row["id"], target.name)
            queued += self._send(db, kb, row, target, "relance", reminder, now, platforms)
        return queued

    def _send(
        self,
        db: sqlite3.Connection,
        kb: KnowledgeBase,
        row: dict[str, Any],
        channel: Channel,
        kind: str,
        reminder: str,
        now: float,
        platforms: set[str],
    ) -> int:
        info = self._directory.code(kb, row["referral"])
        view = RequestView.of(row, info.label if info else None)
        summary = request_text(view, reminder=reminder)
        commune = view.details.get("commune") or ""
        subject = f"Demande de rappel n°{view.id}" + (f" — {commune}" if commune else "")
        for platform, target in channel.targets:
            text = summary if platform == "telegram" else (
                f"{summary}\n\n{instructions(platform, view.id)}")  # fmt: skip
            outbox.put(
                db, platform, target, kind, text, now=now, subject=subject,
                actions=take_actions(view.id), callback_id=view.id, key=row["key"],
            )  # fmt: skip
            platforms.add(platform)
        return len(channel.targets)

    def _tell_admins(
        self, db: sqlite3.Connection, row: dict[str, Any], now: float, platforms: set[str]
    ) -> int:
        text = (
            f"Demande de rappel n°{row['id']} sans canal de conseillers (département "
            f"{row['departement'] or '?'}) : ajoutez-le dans config.yaml, conseillers.canaux. "
            "Elle attend dans « aiguillage rappels ». / A call-back request has no channel: "
            "set conseillers.canaux."
        )
        for platform, target in self._admins:
            outbox.put(db, platform, target, "admin", text, now=now, subject="Aiguillage")
            platforms.add(platform)
        return len(self._admins)
