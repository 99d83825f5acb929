"""The call-back flow end to end with real parts: a person asks in the terminal, the request
reaches the counsellors by e-mail (a local SMTP server), a counsellor takes it with
`aiguillage rappels --prendre`, and the person is told in their terminal who took it. Then:
escalation after the delay (an injected clock), refusal of consent, a bad phone number,
`/oubli` after a request, the outcome and the opt-in follow-up."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console import chat
from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from bot.staff.outbox import drain
from tests.conftest import Conversation
from tests.counsellors_support import body_of, config_with, smtp_server, staffed

TEAM = "equipe.insertion@example.org"
FALLBACK = "direction.insertion@example.org"


def _config(port: int, delay_minutes: int = 60) -> object:
    return config_with(
        conseillers={
            "delai_prise_minutes": delay_minutes,
            "canaux": {"54": {"libelle": "Le service insertion de Nancy", "courriel": [TEAM]}},
            "secours": {"libelle": "La direction de l'insertion", "courriel": [FALLBACK]},
            "smtp": {
                "hote": "127.0.0.1",
                "port": port,
                "expediteur": "bot@example.org",
                "securite": "aucune",
            },
        }
    )


class Lines:
    """What the person types in the terminal, one line at a time, when the test says so."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        while (line := await self.queue.get()) is not None:
            yield line


async def _until(predicate: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_a_request_typed_in_the_terminal_reaches_a_counsellor_who_takes_it(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    with smtp_server() as (mailbox, port):
        async with staffed(tmp_path, knowledge, gazetteer, _config(port)) as bot:
            stop = asyncio.Event()
            loops = asyncio.ensure_future(bot.staff.run(stop))
            out, lines = io.StringIO(), Lines()
            session = asyncio.ensure_future(
                chat(bot.dispatcher, "moi", out, lines.__aiter__(), bot.staff.outbox, 0.05)
            )
            for line in (
                "je suis au RSA à Nancy et je cherche un chantier d'insertion",
                "je voudrais parler à un conseiller",
                "1",
                "oui",
                "vous pouvez m'appeler au 06 12 34 56 78 merci",
            ):
                await lines.queue.put(line)
                await asyncio.sleep(0.3)
            await _until(lambda: "va vous rappeler au 06 12 34 56 78" in out.getvalue())
            assert "Le service insertion de Nancy va vous rappeler" in out.getvalue()
            assert "sous deux jours ouvrés" in out.getvalue()

            mails = await mailbox.wait(1)
            mail = mails[0]
            assert mail["To"] == TEAM and "Nancy" in mail["Subject"]
            body = body_of(mail)
            for expected in (
                "Besoin : Trouver un emploi",
                "Commune : Nancy (54)",
                "Situation : Bénéficiaire du RSA",
                "Langue : français",
                "Joindre : au 06 12 34 56 78",
                "aiguillage rappels --prendre 1",
            ):
                assert expected in body, (expected, body)
            assert "Structures proposées : " in body and "aucune encore" not in body
            assert "54395" not in body and "emploi_insertion" not in body  # no internal ids

            taken = await bot.staff.desk.take(1, "Marie", via="cli")
            assert taken.status == "pris"
            await _until(lambda: "a pris votre demande" in out.getvalue())
            assert "Marie (Le service insertion de Nancy) a pris votre demande" in out.getvalue()
            assert "Vous serez appelé·e au 06 12 34 56 78" in out.getvalue()
            again = await bot.staff.desk.take(1, "Paul")
            assert (again.status, again.by) == ("deja", "Marie")
            confirmations = await mailbox.wait(2)
            assert "prise par Marie" in body_of(confirmations[1])

            await lines.queue.put(None)
            await session
            stop.set()
            await loops
            rows = await bot.requests()
            assert rows[0]["status"] == "pris" and rows[0]["taken_by"] == "Marie"
            assert rows[0]["address"] is not None and b"moi" not in rows[0]["address"]  # sealed
            sent = [r for r in await bot.outbox() if r["sent_at"] is not None]
            assert sent and all(r["body"] == "{}" for r in sent)  # texts gone once sent


async def _ask_callback(person: Conversation, phone: str = "06 12 34 56 78") -> None:
    await person.say("je cherche du travail à Nancy, je suis au RSA")
    await person.say("/conseiller")
    await person.press("cb:ask")
    await person.press("cb:yes")
    await person.say(phone)


async def test_a_request_not_taken_in_time_goes_to_the_fallback_channel(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    with smtp_server() as (mailbox, port):
        async with staffed(tmp_path, knowledge, gazetteer, _config(port, 30)) as bot:
            await _ask_callback(Conversation(bot.dispatcher))
            assert await bot.staff.notifier.tick() == 1
            bot.clock.advance(29 * 60)
            assert await bot.staff.notifier.tick() == 0  # not late yet
            bot.clock.advance(2 * 60)
            assert await bot.staff.notifier.tick() == 1
            assert await bot.staff.notifier.tick() == 0  # escalated once
            stop = asyncio.Event()
            sender = asyncio.ensure_future(
                drain(bot.staff.outbox, "email", bot.staff.email.send, stop, 0.05)  # type: ignore[union-attr]
            )
            mails = await mailbox.wait(2)
            stop.set()
            await sender
            assert [m["To"] for m in mails] == [TEAM, FALLBACK]
            assert "Personne ne l'a encore prise" in body_of(mails[1])
            row = (await bot.requests())[0]
            assert row["escalated_at"] is not None and row["status"] == "nouveau"


async def test_a_request_with_no_channel_is_logged_and_kept(
    tmp_path: Path,
    knowledge: KnowledgeBase,
    gazetteer: Gazetteer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = config_with(admins={"telegram": [4242]})
    async with staffed(tmp_path, knowledge, gazetteer, config) as bot:
        person = Conversation(bot.dispatcher)
        await _ask_callback(person)
        assert "Un conseiller du Département va vous rappeler" in person.text
        await bot.staff.notifier.tick()
        assert "no counsellors' channel" in caplog.text
        admin = [r for r in await bot.outbox() if r["kind"] == "admin"]
        assert [(r["platform"], r["target"]) for r in admin] == [("telegram", "4242")]
        assert "sans canal" in json.loads(admin[0]["body"])["text"]
        assert (await bot.requests())[0]["status"] == "nouveau"  # still listed, never dropped


async def test_refusing_consent_keeps_nothing(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with staffed(tmp_path, knowledge, gazetteer, config_with()) as bot:
        person = Conversation(bot.dispatcher)
        await person.say("/conseiller")
        await person.press("cb:ask")
        assert "Vous êtes d'accord ?" in person.text
        turn = await person.press("cb:no")
        assert "je ne garde pas votre numéro" in person.text and turn.trace.asking is None
        assert await bot.requests() == [] and await bot.outbox() == []


async def test_a_bad_phone_number_is_asked_again_and_write_to_me_here_works(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with staffed(tmp_path, knowledge, gazetteer, config_with()) as bot:
        person = Conversation(bot.dispatcher)
        await person.say("/conseiller")
        await person.press("cb:ask")
        await person.say("oui")
        turn = await person.say("c'est le 06 12 34")
        assert "ne semble pas correct" in person.text and turn.trace.asking == "consentement"
        assert await bot.requests() == []
        await person.press("cb:here")
        assert "va vous écrire ici" in person.text
        await person.press("cb:moment:apres_midi")
        await person.press("cb:optin:yes")
        row = (await bot.requests())[0]
        assert (row["contact"], row["phone"], row["moment"], row["follow_up"]) == (
            "ici",
            None,
            "l'après-midi",
            1,
        )


async def test_oubli_after_a_request_erases_it_and_its_messages(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    with smtp_server() as (_, port):
        async with staffed(tmp_path, knowledge, gazetteer, _config(port)) as bot:
            person = Conversation(bot.dispatcher)
            await _ask_callback(person)
            await bot.staff.notifier.tick()
            assert await bot.outbox()
            await person.say("/oubli")
            assert await bot.requests() == [] and await bot.outbox() == []
            assert (await bot.staff.desk.take(1, "Marie")).status == "inconnu"


async def test_the_outcome_is_recorded_and_the_person_asked_later_whether_it_helped(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with staffed(tmp_path, knowledge, gazetteer, config_with()) as bot:
        person = Conversation(bot.dispatcher, platform="console")
        await _ask_callback(person)
        await person.press("cb:moment:matin")
        await person.press("cb:optin:yes")
        assert (await bot.staff.desk.take(1, "Marie")).status == "pris"
        assert (
            await bot.staff.desk.record_outcome(
                1, "oriente", "Marie", "vers la mission locale 06 99 99 99 99"
            )
            == "ok"
        )
        row = (await bot.requests())[0]
        assert row["status"] == "oriente" and "06 99" not in (row["outcome_note"] or "")
        # before the delay, only "Marie took your request" is due: the follow-up waits
        assert {m.kind for m in await bot.staff.outbox.due("console")} == {"personne"}
        bot.clock.advance(7 * 24 * 3600 + 1)
        due = await bot.staff.outbox.due("console")
        follow_up = next(m for m in due if m.kind == "suivi")
        assert follow_up.target == "u1" and "Est-ce que cela vous a aidé" in follow_up.text
        turn = await person.press("cb:suivi:oui")
        assert "content que cela vous ait aidé" in person.text and turn.trace.asking is None
        figures = await bot.store.usage_summary("2000-01-01")
        assert figures["par_type"].get("suivi_utile") == 1


async def test_a_counsellors_reply_delivered_twice_is_obeyed_once(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    """A platform may deliver an event again (after a restart, say): the person must not get
    the counsellor's message twice, nor the team the same notice twice."""
    async with staffed(tmp_path, knowledge, gazetteer, config_with()) as bot:
        await _ask_callback(Conversation(bot.dispatcher, platform="console"))
        desk = bot.staff.desk

        async def kinds() -> list[str]:
            return sorted(m["kind"] for m in await bot.outbox())

        taking = ("matrix", "$reply-1")
        assert (await desk.take(1, "Marie", event=taking)).status == "pris"
        after_taking = await kinds()
        assert (await desk.take(1, "Marie", event=taking)).status == "repete"
        assert await kinds() == after_taking

        writing, words = ("matrix", "$reply-2"), "Je vous appelle demain."
        notice = await desk.act_on_reply(1, "ecrire", words, "Marie", "matrix", writing)
        assert notice == "Message transmis à la personne. / Message sent."
        after_writing = await kinds()
        assert after_writing.count("personne") == after_taking.count("personne") + 1
        again = await desk.act_on_reply(1, "ecrire", words, "Marie", "matrix", writing)
        assert again == "" and await kinds() == after_writing  # nothing said, nothing sent

        outcome = ("telegram", "press:q7")
        assert await desk.record_outcome(1, "joint", "Marie", event=outcome) == "ok"
        after_outcome = await kinds()
        assert await desk.record_outcome(1, "joint", "Marie", event=outcome) == "repete"
        assert await kinds() == after_outcome
        # another reply with the same words is a new event: it is obeyed
        assert (
            await desk.write(1, "Marie", "Je vous appelle demain.", ("matrix", "$reply-3")) == "ok"
        )
        assert (await kinds()).count("personne") == after_writing.count("personne") + 1

        # an empty « écrire : » delivered again says nothing the second time
        assert await desk.write(1, "Marie", " ", ("matrix", "$reply-4")) == "inconnu"
        assert await desk.write(1, "Marie", " ", ("matrix", "$reply-4")) == "repete"

        # the events acted on are forgotten after 30 days (a Matrix bot stopped for days syncs
        # again from its last position)
        def acted_on(db: Any) -> int:
            return int(db.execute("SELECT count(*) FROM staff_events").fetchone()[0])

        day = 24 * 3600
        assert await bot.store.run(acted_on) == 5
        await bot.store.prune(bot.clock.now + 29 * day)
        assert await bot.store.run(acted_on) == 5
        await bot.store.prune(bot.clock.now + 31 * day)
        assert await bot.store.run(acted_on) == 0


async def test_requests_with_an_outcome_are_purged_after_the_retention_period(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    async with staffed(tmp_path, knowledge, gazetteer, config_with()) as bot:
        for user in ("u1", "u2"):
            await _ask_callback(Conversation(bot.dispatcher, user=user))
        await bot.staff.desk.record_outcome(1, "joint", "Marie")
        day = 24 * 3600
        await bot.store.prune(bot.clock.now + 29 * day)  # the outcome is 29 days old: kept
        assert [r["id"] for r in await bot.requests()] == [1, 2]
        await bot.store.prune(bot.clock.now + 31 * day)
        assert [r["id"] for r in await bot.requests()] == [2]  # the open one stays


def test_rappels_lists_by_departement_and_code_takes_and_writes(
    tmp_path: Path,
    knowledge: KnowledgeBase,
    gazetteer: Gazetteer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    async def ask() -> None:
        async with staffed(tmp_path, knowledge, gazetteer, config_with()) as bot:
            person = Conversation(bot.dispatcher, platform="console")
            await person.open_link("CD54-TOUL-MDS")
            await _ask_callback(person)
            other = Conversation(bot.dispatcher, user="u2", platform="console")
            await other.say("je cherche un garage solidaire à Bobigny")
            await other.say("/conseiller")
            await other.press("cb:ask")
            await other.press("cb:yes")
            await other.press("cb:here")

    asyncio.run(ask())
    db = ["--db", str(tmp_path / "bot.db")]
    assert main([*db, "rappels"]) == 0
    listing = capsys.readouterr().out
    assert "Département 54 · code CD54-TOUL-MDS (MDS de Toul (exemple))" in listing
    assert "Département 93 · sans code" in listing and "Bobigny" in listing
    assert "☎ 06 12 34 56 78" in listing and "écrire dans le chat" in listing
    assert main([*db, "rappels", "--json", "--departement", "93"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["commune"], r["contact"], r["statut"]) for r in rows] == [
        ("Bobigny", "ici", "nouveau")
    ]
    assert (
        main(
            [
                *db,
                "rappels",
                "--ecrire",
                "2",
                "Bonjour, je vous propose lundi 10 h.",
                "--par",
                "Samia",
            ]
        )
        == 0
    )
    assert main([*db, "rappels", "--prendre", "1", "--par", "Marie"]) == 0
    assert main([*db, "rappels", "--prendre", "1", "--par", "Paul"]) == 1
    assert "déjà prise par Marie" in capsys.readouterr().out
    assert main([*db, "rappels", "--prendre", "99"]) == 1
    assert main([*db, "rappels", "--resultat", "1", "parti"]) == 1
    err = capsys.readouterr().err
    assert "introuvable" in err and "résultat inconnu" in err and "Traceback" not in err

    async def person_messages() -> list[str]:
        from bot.staff.outbox import Outbox
        from bot.store import Store

        async with Store.open(tmp_path / "bot.db") as store:
            return [m.text for m in await Outbox(store).due("console") if m.to_person]

    texts = asyncio.run(person_messages())
    assert any(t.startswith("Message de Samia") and "lundi 10 h" in t for t in texts)
    assert any("Marie" in t and "a pris votre demande" in t for t in texts)
