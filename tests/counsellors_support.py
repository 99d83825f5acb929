"""Real parts for the counsellors' tests: a store, the real dialogue with counsellor channels,
the staff services with an injected clock, and a local SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bot.app import KnowledgeHolder, knowledge_cache
from bot.config import Config, validate_config
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from bot.staff.directory import StaffDirectory
from bot.staff.services import StaffServices
from bot.store import Store


@dataclass
class Clock:
    """Epoch seconds, starting now, moved only by the test."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Staffed:
    config: Config
    store: Store
    dispatcher: Dispatcher
    staff: StaffServices
    clock: Clock

    async def requests(self) -> list[dict[str, Any]]:
        def job(db: Any) -> list[dict[str, Any]]:
            db.row_factory = None
            names = (
                "id",
                "status",
                "phone",
                "contact",
                "moment",
                "follow_up",
                "taken_by",
                "handler",
                "notified_at",
                "escalated_at",
                "outcome_note",
                "address",
            )
            sql = f"SELECT {', '.join(names)} FROM callbacks ORDER BY id"
            return [dict(zip(names, r, strict=True)) for r in db.execute(sql)]

        return await self.store.run(job)

    async def outbox(self) -> list[dict[str, Any]]:
        def job(db: Any) -> list[dict[str, Any]]:
            names = (
                "id",
                "platform",
                "target",
                "kind",
                "callback_id",
                "sent_at",
                "failed",
                "body",
                "sealed",
            )
            sql = f"SELECT {', '.join(names)} FROM outbox ORDER BY id"
            return [dict(zip(names, r, strict=True)) for r in db.execute(sql)]

        return await self.store.run(job)


def config_with(**sections: Any) -> Config:
    return validate_config(sections, "test")


@asynccontextmanager
async def staffed(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer, config: Config
) -> AsyncIterator[Staffed]:
    clock = Clock()
    directory = StaffDirectory(config.conseillers)
    dialogue = OrientationDialogue(knowledge, gazetteer, config.dialogue, "54", staff=directory)
    async with Store.open(tmp_path / "bot.db") as store:
        staff = StaffServices.build(config, store, directory, lambda: knowledge, clock=clock)
        staff.interval_s = staff.poll_s = 0.05
        holder = KnowledgeHolder(
            config, gazetteer, knowledge, cache=knowledge_cache(config.knowledge)
        )
        staff.admins.reload = holder.reload  # the bot's real reload, on the shipped base
        yield Staffed(config, store, Dispatcher(store, lambda: dialogue), staff, clock)


# --- a local SMTP server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.messages.append(mail)
        return "250 OK"

    async def wait(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                await asyncio.sleep(0.02)
        return self.messages


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 (a thread), stopped when the block ends."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())
