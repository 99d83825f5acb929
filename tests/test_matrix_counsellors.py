"""Counsellors and admins on Matrix, against the real Synapse: the counsellors' room receives
the request, a counsellor takes it by replying « je prends », the person is told who took it in
their own room, a 👍 on a request already taken is answered kindly, the outcome is a reply;
an admin account gets /stats, anyone else is refused kindly."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters import matrix as mx
from adapters.base import AdapterContext
from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from tests.counsellors_support import Staffed, config_with, staffed
from tests.synapse_fixture import (  # noqa: F401
    Person,
    Received,
    Synapse,
    check,
    person,
    synapse_server,
)

pytestmark = pytest.mark.synapse

Restart = Callable[[tuple[str, str]], Awaitable[None]]


@asynccontextmanager
async def bot_with_staff(
    synapse: Synapse,
    tmp_path: Path,
    knowledge: KnowledgeBase,
    gazetteer: Gazetteer,
    counsellor: Person,
    admin_id: str,
) -> AsyncIterator[tuple[str, str, Staffed, Restart]]:
    """The bot, a counsellors' room it was invited to, its staff services, and a way to stop
    its adapter and start it again from an earlier sync position."""
    user_id, password = synapse.register("bot")
    os.environ["TEST_STAFF_BOT_PW"] = password
    created = check(
        await counsellor.client.room_create(name="Conseillers insertion 54", invite=[user_id])
    )
    room = str(created.room_id)
    config = config_with(
        conseillers={"canaux": {"54": {"libelle": "L'équipe insertion", "matrix": room}}},
        admins={"matrix": [admin_id]},
    )
    raw = {
        "homeserver": synapse.url,
        "user_id": user_id,
        "password_env": "TEST_STAFF_BOT_PW",
        "encryption": "off",
    }
    async with staffed(tmp_path, knowledge, gazetteer, config) as bot:
        context = AdapterContext(bot.dispatcher, bot.store, raw, str(tmp_path), staff=bot.staff)
        adapter = mx.create(context)
        stop, adapter_stop = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(adapter.run(adapter_stop))
        loops = asyncio.create_task(bot.staff.run(stop))

        async def restart_from(cursor: tuple[str, str]) -> None:
            nonlocal task, adapter_stop
            adapter_stop.set()
            async with asyncio.timeout(20):
                await task
            await bot.store.set_cursor(*cursor)
            again, adapter_stop = mx.create(context), asyncio.Event()
            task = asyncio.create_task(again.run(adapter_stop))
            async with asyncio.timeout(30):
                await again.ready.wait()

        try:
            async with asyncio.timeout(30):
                await adapter.ready.wait()
            await counsellor.wait_for(
                lambda: (
                    user_id
                    in (
                        counsellor.client.rooms[room].users
                        if room in counsellor.client.rooms
                        else {}
                    )
                ),
                what="bot joins the room",
            )
            yield user_id, room, bot, restart_from
        finally:
            stop.set()
            adapter_stop.set()
            async with asyncio.timeout(20):
                await task
                await loops


async def ask_to_be_called_back(ben: Person, dm: str) -> str:
    """The person asks to be called back, agrees and gives a number; the bot's last words."""
    await ben.collect(dm, 0)
    for text in ("je cherche une auto-école solidaire à Nancy", "/conseiller", "1", "oui"):
        await ben.ask(dm, text)
    return (await ben.ask(dm, "mon numéro : 06 11 22 33 44"))[-1].body


@dataclass(frozen=True, slots=True)
class Requested:
    """A person (ben) asked to be called back: the request is in the counsellors' room."""

    counsellor: Person
    ben: Person
    dm: str  # ben's room with the bot
    room: str  # the counsellors' room
    bot: Staffed
    restart_from: Restart
    done: str  # the bot's last words to ben
    request: Received  # the request, as the counsellor sees it


@asynccontextmanager
async def a_request_in_the_room(
    synapse: Synapse, tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> AsyncIterator[Requested]:
    async with person(synapse, "@nobody:localhost") as counsellor:
        counsellor.bot_id = ""  # set below, once the bot exists
        async with bot_with_staff(
            synapse, tmp_path, knowledge, gazetteer, counsellor, "@admin:localhost"
        ) as (bot_id, room, bot, restart_from):
            counsellor.bot_id = bot_id
            async with person(synapse, bot_id) as ben:
                dm = await ben.dm()
                done = await ask_to_be_called_back(ben, dm)
                request = (await counsellor.wait_replies(room, 1))[0]
                yield Requested(counsellor, ben, dm, room, bot, restart_from, done, request)


async def reply(counsellor: Person, room: str, to: Received, body: str) -> None:
    """The counsellor answers `to` with Matrix's reply."""
    relation = {"m.in_reply_to": {"event_id": to.event_id}}
    await counsellor.send(room, {"msgtype": "m.text", "body": body, "m.relates_to": relation})


async def test_a_counsellor_takes_a_request_by_replying_in_the_room(
    synapse: Synapse, tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with a_request_in_the_room(synapse, tmp_path, knowledge, gazetteer) as asked:
        counsellor, ben, dm, room = asked.counsellor, asked.ben, asked.dm, asked.room
        assert "L'équipe insertion va vous rappeler au 06 11 22 33 44" in asked.done
        assert "Demande de rappel n°1" in asked.request.body
        assert "Commune : Nancy (54)" in asked.request.body
        assert "répondez « je prends »" in asked.request.body

        await reply(counsellor, room, asked.request, "je prends")
        await ben.wait_for(
            lambda: any("a pris votre demande" in r.body for r in ben.replies(dm)),
            what="the person is told",
        )
        told = next(r.body for r in ben.replies(dm) if "a pris votre demande" in r.body)
        assert "(L'équipe insertion) a pris votre demande" in told
        confirmation = (await counsellor.wait_replies(room, 2))[1]
        assert "prise par" in confirmation.body

        check(
            await counsellor.client.room_send(
                room,
                "m.reaction",
                {
                    "m.relates_to": {
                        "rel_type": "m.annotation",
                        "event_id": asked.request.event_id,
                        "key": "👍",
                    }
                },
            )
        )
        await counsellor.wait_for(
            lambda: any("déjà prise" in r.body for r in counsellor.replies(room)),
            what="already taken",
        )

        await reply(counsellor, room, confirmation, "orientée vers la mission locale")
        await counsellor.wait_for(
            lambda: any("Orientée vers une structure" in r.body for r in counsellor.replies(room)),
            what="outcome",
        )
        rows = await asked.bot.requests()
        assert rows[0]["status"] == "oriente"
        assert rows[0]["outcome_note"] == "vers la mission locale"


async def test_a_counsellors_reply_synced_again_after_a_restart_is_obeyed_once(
    synapse: Synapse, tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    """The bot stops before its sync position passed the counsellor's reply (here: the position
    is set back): the next start syncs the reply again, and the person gets the message once."""
    async with a_request_in_the_room(synapse, tmp_path, knowledge, gazetteer) as asked:
        counsellor, ben, dm, room = asked.counsellor, asked.ben, asked.dm, asked.room
        before_reply = await _matrix_cursor(asked.bot)
        await reply(counsellor, room, asked.request, "écrire : Je vous appelle demain matin.")

        def told() -> int:
            return sum("Je vous appelle demain matin" in r.body for r in ben.replies(dm))

        await ben.wait_for(lambda: told() == 1, what="the person gets the message")
        seen = len(counsellor.replies(room))
        await asked.restart_from(before_reply)  # syncs the reply again
        # The bot answers in order: what it sent for the reply synced again comes before its
        # answer to the person's next message.
        await ben.ask(dm, "merci")
        assert told() == 1 and len(counsellor.replies(room)) == seen


async def _matrix_cursor(bot: Staffed) -> tuple[str, str]:
    """The adapter's stored sync position: (its name, its value)."""

    def job(db: Any) -> tuple[str, str]:
        [(name, value)] = db.execute(
            "SELECT name, value FROM cursors WHERE name LIKE 'matrix:@%:next_batch'"
        ).fetchall()
        return str(name), str(value)

    return await bot.store.run(job)


async def test_admin_commands_on_matrix(
    synapse: Synapse, tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with (
        person(synapse, "@nobody:localhost") as counsellor,
        person(synapse, "@nobody:localhost") as admin,
        bot_with_staff(synapse, tmp_path, knowledge, gazetteer, counsellor, admin.user_id) as (
            bot_id,
            _,
            _,
            _,
        ),
    ):
        admin.bot_id = bot_id
        async with person(synapse, bot_id) as ben:
            dm = await ben.dm()
            await ben.collect(dm, 0)
            refused = await ben.ask(dm, "/stats")
            assert "réservée aux administrateurs" in refused[-1].body
            admin_room = await admin.dm()
            await admin.collect(admin_room, 0)
            stats = await admin.ask(admin_room, "/stats")
            assert "Depuis le" in stats[-1].body and "personnes" in stats[-1].body
