"""The staff services of a running bot, built once: the outbox, the call-back desk and its
loop, the admin desk, the e-mail sender, and the counsellor codes read again every minute.

`run(stop)` runs the loops that do not belong to an adapter (requests to notify and escalate,
e-mail, codes made with `aiguillage link` by another process); each adapter drains the outbox
of its own platform (`bot.staff.outbox.drain`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.callbacks.desk import CallbackDesk
from bot.callbacks.notify import CallbackNotifier
from bot.config import Config
from bot.kb.knowledge import KnowledgeBase, LoadReport
from bot.staff.admins import AdminDesk, admin_targets
from bot.staff.directory import StaffDirectory
from bot.staff.email import EmailSender
from bot.staff.outbox import Outbox, drain
from bot.store import Store

log = logging.getLogger(__name__)

CODES_REFRESH_S = 60.0
DAY_S = 24 * 3600


@dataclass
class StaffServices:
    store: Store
    directory: StaffDirectory
    outbox: Outbox
    desk: CallbackDesk
    notifier: CallbackNotifier
    admins: AdminDesk
    knowledge: Callable[[], KnowledgeBase]
    email: EmailSender | None = None
    interval_s: float = 5.0  # how often requests are checked (notify, escalate)
    poll_s: float = 2.0  # how often each drainer looks at the outbox when not woken
    retention_s: float = 30 * DAY_S  # call-backs with an outcome (conseillers.conservation_jours)

    @classmethod
    def build(
        cls,
        config: Config,
        store: Store,
        directory: StaffDirectory,
        knowledge: Callable[[], KnowledgeBase],
        reload: Callable[[], Awaitable[LoadReport | None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> StaffServices:
        """`clock` (epoch seconds) decides when requests are late: tests inject their own."""
        settings = config.conseillers
        box = Outbox(store, clock)
        email = EmailSender.from_settings(settings.smtp) if settings.smtp else None
        return cls(
            store=store,
            directory=directory,
            outbox=box,
            desk=CallbackDesk(
                store, box, follow_up_after_s=settings.suivi_apres_jours * DAY_S, clock=clock
            ),
            notifier=CallbackNotifier(
                store, box, directory, knowledge, admins=admin_targets(config.admins), clock=clock
            ),
            admins=AdminDesk(config.admins, store, box, reload, clock),
            knowledge=knowledge,
            email=email,
            retention_s=settings.conservation_jours * DAY_S,
        )

    def staff_chats(self, platform: str) -> set[str]:
        """The counsellors' groups (Telegram) or rooms (Matrix): their messages are no
        conversations; a counsellor's button, reply or reaction there takes a request."""
        kb = self.knowledge()
        chats: set[str] = set()
        settings = self.directory.settings
        channels = [*settings.canaux.values(), *([settings.secours] if settings.secours else [])]
        for section in channels:
            value = section.telegram if platform == "telegram" else section.matrix
            if value is not None:
                chats.add(str(value))
        for code in kb.codes_conseillers.values():
            if code.demandes is None or code.exemple:
                continue
            value = code.demandes.telegram if platform == "telegram" else code.demandes.matrix
            if value is not None:
                chats.add(str(value))
        return chats

    async def run(self, stop: asyncio.Event) -> None:
        """The loops of the call-back desk, e-mail and codes, until `stop`."""
        tasks = [
            asyncio.ensure_future(self.notifier.run(stop, self.interval_s)),
            asyncio.ensure_future(self._refresh_codes(stop)),
            asyncio.ensure_future(self._prune_daily(stop)),
        ]
        if self.email is not None:
            tasks.append(
                asyncio.ensure_future(
                    drain(self.outbox, "email", self.email.send, stop, self.poll_s)
                )
            )
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _prune_daily(self, stop: asyncio.Event) -> None:
        """What is kept no longer than needed goes every day too, not only at start-up: the
        call-backs with an outcome after `conseillers.conservation_jours`."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), DAY_S)
            if stop.is_set():
                return
            try:
                await self.store.prune(callback_retention_s=self.retention_s)
            except Exception as exc:
                log.warning("daily clean-up failed: %s", type(exc).__name__)

    async def _refresh_codes(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CODES_REFRESH_S)
            try:
                self.directory.refresh(await self.store.referrals())
            except Exception as exc:
                log.warning("counsellor codes not read again: %s", type(exc).__name__)
