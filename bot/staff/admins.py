"""Admin accounts in chat: who they are, what they may ask, and what they are told.

`admins:` in config.yaml lists Telegram user ids and Matrix user ids. From those accounts
(and no other) `/stats`, `/nonrepondues` and `/reload` work in a private chat with the bot;
everyone else is told kindly that these commands are for admins (the dialogue's `admin` act).
A reload that finds errors (SIGHUP, `aiguillage reload`, the file watcher, `/reload`) is
reported to every admin account through the outbox (`tell_admins_about_reload`).
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import AdminSection
from bot.kb.knowledge import LoadReport
from bot.staff import outbox
from bot.staff.outbox import Outbox
from bot.store import Store
from bot.terminal import printable

log = logging.getLogger(__name__)

ADMIN_COMMANDS = {
    "/stats": "stats",
    "/nonrepondues": "unanswered",
    "/non_repondues": "unanswered",
    "/unanswered": "unanswered",
    "/reload": "reload",
    "/recharger": "reload",
}
STATS_DAYS = 7
MAX_QUESTIONS = 15


def admin_command(text: str | None) -> str | None:
    """ "stats" for "/stats" (also "/stats@MonBot"); None when the text is no admin command."""
    if not text:
        return None
    word = text.strip().split(" ", 1)[0].split("@", 1)[0].lower()
    return ADMIN_COMMANDS.get(word)


def admin_targets(settings: AdminSection) -> list[tuple[str, str]]:
    """(platform, target) of every admin account: a Telegram user's private chat is their id."""
    return [("telegram", str(u)) for u in settings.telegram] + [
        ("matrix", u) for u in settings.matrix
    ]


@dataclass
class AdminDesk:
    """Answers the admin commands; `reload` is the bot's own reload (SIGHUP's)."""

    settings: AdminSection
    store: Store
    box: Outbox
    reload: Callable[[], Awaitable[LoadReport | None]] | None = None
    clock: Callable[[], float] = time.time

    def is_admin(self, platform: str, account: str) -> bool:
        if platform == "telegram":
            return account.lstrip("-").isdigit() and int(account) in self.settings.telegram
        if platform == "matrix":
            return account in self.settings.matrix
        return False

    async def answer(self, command: str) -> str:
        """The reply to an admin command (French first, then English)."""
        if command == "stats":
            return await self._stats()
        if command == "unanswered":
            return await self._unanswered()
        if command == "reload":
            if self.reload is None:
                return "Rechargement indisponible ici. / Reload unavailable here."
            report = await self.reload()
            if report is None:
                return "Le rechargement a échoué : voyez le journal. / Reload failed: see the log."
            return report.for_admins()
        return "Commande inconnue. / Unknown command."

    async def _stats(self) -> str:
        since = (dt.date.today() - dt.timedelta(days=STATS_DAYS)).isoformat()
        summary = await self.store.usage_summary(since)
        codes = await self.store.code_figures(since)
        open_requests = len(await self.store.callbacks("nouveau"))
        lines = [
            f"Depuis le {since} : {summary['personnes']} personnes, {summary['messages']} "
            f"messages, {summary['par_type'].get('orientation', 0)} résultats montrés, "
            f"{summary['par_type'].get('rappel', 0)} demandes de rappel ({open_requests} en "
            f"attente). / Last {STATS_DAYS} days."
        ]
        if summary["par_besoin"]:
            needs = ", ".join(f"{k} {v}" for k, v in list(summary["par_besoin"].items())[:6])
            lines.append(f"Besoins : {needs}")
        for code, figures in sorted(codes.items()):
            lines.append(
                f"Code {code} : {figures['personnes']} personnes, {figures['resultats']} avec "
                f"un résultat, {figures['rappels']} rappels"
            )
        return "\n".join(lines)

    async def _unanswered(self) -> str:
        questions = await self.store.unanswered_questions(MAX_QUESTIONS)
        if not questions:
            return "Aucune question non comprise. / No unanswered question."
        lines = [f"Questions non comprises ({len(questions)} dernières) / Unanswered:"]
        lines += [f"• {printable(str(q['text']))[:200]}" for q in questions]
        return "\n".join(lines)

    async def tell(self, text: str) -> int:
        """Queue `text` for every admin account; returns how many messages were queued."""
        targets = admin_targets(self.settings)
        if not targets:
            return 0
        now = self.clock()

        def job(db: sqlite3.Connection) -> int:
            for platform, target in targets:
                outbox.put(db, platform, target, "admin", text, now=now, subject="Aiguillage")
            return len(targets)

        count = await self.store.run(job)
        self.box.wake(*{p for p, _ in targets})
        return count


async def tell_admins_about_reload(desk: AdminDesk | None, report: LoadReport) -> None:
    """After any reload: a report with errors reaches the admin accounts (the log has it too)."""
    if desk is None or (report.ok and not report.disabled and not report.kept):
        return
    try:
        count = await desk.tell(report.for_admins())
    except Exception as exc:  # telling admins must never break a reload
        log.error("reload report not queued for admins: %s", type(exc).__name__)
        return
    if count:
        log.info("reload report queued for %d admin account(s)", count)
