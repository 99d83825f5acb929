"""Counsellors and admins on Telegram, through the project's Bot API server: a person asks to be
called back, the counsellors' group gets the summary with a "Je prends" button, a counsellor
presses it, the person is told who took it; the outcome buttons; admin commands from an admin
account, and a kind refusal for anyone else."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.base import AdapterContext, Backoff
from adapters.telegram import TelegramAdapter
from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from tests.counsellors_support import Staffed, config_with, staffed
from tests.telegram_harness import settings_for
from tests.telegram_server import TOKEN, FakeTelegram

GROUP = -1001234
PERSON = 501
COUNSELLOR = 777
ADMIN = 9001


@asynccontextmanager
async def serving(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> AsyncIterator[tuple[FakeTelegram, Staffed]]:
    config = config_with(
        conseillers={
            "canaux": {"54": {"libelle": "L'équipe insertion de Nancy", "telegram": GROUP}}
        },
        admins={"telegram": [ADMIN]},
    )
    async with (
        FakeTelegram(TOKEN) as server,
        staffed(tmp_path, knowledge, gazetteer, config) as bot,
    ):
        server.add_group(GROUP, "Conseillers insertion 54")
        context = AdapterContext(bot.dispatcher, bot.store, {}, str(tmp_path), staff=bot.staff)
        adapter = TelegramAdapter(context, settings_for(server), backoff=Backoff(0.05, 0.5))
        stop = asyncio.Event()
        task = asyncio.create_task(adapter.run(stop))
        loops = asyncio.create_task(bot.staff.run(stop))
        try:
            await server.wait_for(lambda: "en" in server.commands, 10)
            yield server, bot
        finally:
            stop.set()
            async with asyncio.timeout(10):
                await task
                await loops


async def ask_to_be_called_back(tg: FakeTelegram) -> tuple[str, str]:
    """The person asks to be called back, agrees and gives a number, and the request reaches
    the group; (the consent question, the confirmation) the person read."""
    await tg.send_text(PERSON, "je cherche un garage solidaire à Nancy")
    await tg.replies(PERSON)
    await tg.send_text(PERSON, "/conseiller")
    await tg.replies(PERSON)
    await tg.press(PERSON, "cb:ask")
    consent = await tg.replies(PERSON)
    await tg.press(PERSON, "cb:yes")
    await tg.replies(PERSON)
    await tg.send_text(PERSON, "07 98 76 54 32")
    done = await tg.replies(PERSON)
    await tg.wait_for(lambda: bool(tg.sent[GROUP]))
    return consent[-1].text, done[-1].text


async def test_the_group_gets_the_request_a_counsellor_takes_it_the_person_is_told(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with serving(tmp_path, knowledge, gazetteer) as (tg, bot):
        consent, done = await ask_to_be_called_back(tg)
        assert "L'équipe insertion de Nancy le verra" in consent
        assert "L'équipe insertion de Nancy va vous rappeler au 07 98 76 54 32" in done

        request = tg.sent[GROUP][0]
        assert "Demande de rappel n°1" in request.text and "Commune : Nancy (54)" in request.text
        assert "Joindre : au 07 98 76 54 32" in request.text
        assert request.buttons == [("✋ Je prends / I take it", "staff:prendre:1")]

        seen_by_a_colleague = copy.deepcopy(request)  # the button, before it is removed
        await tg.press(GROUP, "staff:prendre:1", request, by=COUNSELLOR)
        await tg.wait_for(lambda: any("a pris votre demande" in s.text for s in tg.sent[PERSON]))
        told = tg.sent[PERSON][-1].text
        assert told.startswith("Bonne nouvelle : Personne 777 (L'équipe insertion de Nancy)")
        assert "appelé·e au 07 98 76 54 32" in told
        await tg.wait_for(lambda: len(tg.sent[GROUP]) >= 2)
        confirmation = tg.sent[GROUP][1]
        assert "prise par Personne 777" in confirmation.text
        assert "C'est à vous" in next(iter(tg.callback_answers.values()))

        await tg.press(GROUP, "staff:joint:1", confirmation, by=COUNSELLOR)
        await tg.wait_for(lambda: len(tg.sent[GROUP]) >= 3)
        assert "Personne jointe" in tg.sent[GROUP][2].text
        assert (await bot.requests())[0]["status"] == "joint"

        await tg.send_group_text(
            GROUP,
            COUNSELLOR,
            "écrire : Bonjour, je vous appelle demain à 10 h.",
            reply_to=confirmation,
        )
        await tg.wait_for(lambda: "je vous appelle demain" in tg.sent[PERSON][-1].text)
        assert tg.sent[PERSON][-1].text.startswith("Message de Personne 777")
        await tg.send_group_text(GROUP, COUNSELLOR, "merci à tous")  # no conversation here
        assert request.buttons == []  # the button is gone once pressed
        await tg.press(GROUP, "staff:prendre:1", seen_by_a_colleague, by=COUNSELLOR + 1)
        await tg.wait_for(lambda: any("Déjà prise" in a for a in tg.callback_answers.values()))


async def test_a_counsellors_reply_or_press_delivered_again_is_obeyed_once(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with serving(tmp_path, knowledge, gazetteer) as (tg, bot):
        await ask_to_be_called_back(tg)
        await tg.press(GROUP, "staff:prendre:1", tg.sent[GROUP][0], by=COUNSELLOR)
        await tg.wait_for(lambda: len(tg.sent[GROUP]) >= 2)
        confirmation = tg.sent[GROUP][1]

        reply = await tg.send_group_text(
            GROUP, COUNSELLOR, "écrire : Je vous appelle demain.", reply_to=confirmation
        )
        await tg.wait_for(lambda: "Je vous appelle demain" in tg.sent[PERSON][-1].text)
        press = await tg.press(GROUP, "staff:joint:1", confirmation, by=COUNSELLOR)
        await tg.wait_for(lambda: any("Personne jointe" in s.text for s in tg.sent[GROUP]))
        seen = (len(tg.sent[PERSON]), len(tg.sent[GROUP]))

        last = max(await tg.deliver_again(reply), await tg.deliver_again(press))
        await tg.wait_answered(last, bot.store.path)  # taken, handled and forgotten
        assert (len(tg.sent[PERSON]), len(tg.sent[GROUP])) == seen
        messages = [s.text for s in tg.sent[PERSON] if "Je vous appelle demain" in s.text]
        assert len(messages) == 1
        assert (await bot.requests())[0]["status"] == "joint"


async def test_admin_commands_work_for_admins_only(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with serving(tmp_path, knowledge, gazetteer) as (tg, _):
        await tg.send_text(PERSON, "je cherche du travail à Nancy")
        await tg.replies(PERSON)
        await tg.send_text(PERSON, "/stats")
        refused = await tg.replies(PERSON)
        assert "réservée aux administrateurs" in refused[-1].text
        await tg.send_text(ADMIN, "/stats")
        stats = await tg.replies(ADMIN)
        assert "1 personnes" in stats[-1].text and "Depuis le" in stats[-1].text
        await tg.send_text(ADMIN, "/nonrepondues")
        assert "question" in (await tg.replies(ADMIN))[-1].text.lower()
        await tg.send_text(ADMIN, "/reload")
        reloaded = await tg.replies(ADMIN, timeout=30)
        assert "Base chargée" in reloaded[-1].text
