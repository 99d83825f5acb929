"""The Telegram adapter's mechanics, through PTB's real HTTP stack against the local Bot API
server, with a stand-in dialogue that echoes what it understood. Tests read like conversations."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from adapters.base import ConfigError
from adapters.telegram import (
    TelegramSettings,
    create,
    deep_link,
    offset_cursor,
    to_incoming,
)
from adapters.telegram_render import (
    LOCATION_BUTTON,
    callback_data,
    escape,
    render_reply,
    split_text,
    visible_length,
)
from bot.dispatcher import Dispatcher
from bot.flood import FloodControl
from bot.messages import Choice, Incoming, Reply, Turn
from bot.store import Store
from tests.telegram_harness import LONG_CHOICE, telegram_bot
from tests.telegram_server import BOT_ID, ApiError

OFFSET_CURSOR = offset_cursor(BOT_ID)

CHAT = 4242
# PTB 22 warns about RetryAfter.retry_after's future type from inside its own code.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


# --- conversations -----------------------------------------------------------------------------


async def test_text_is_answered_with_html_escaped_echo_and_buttons(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        (reply,) = await tg.say(CHAT, "bonjour <script> & co")
        assert reply.text == "echo 1: text=bonjour <script> & co lang=fr"
        assert reply.parse_mode == "HTML" and "&lt;script&gt; &amp; co" in reply.raw
        assert [label for label, _ in reply.buttons] == [
            "Oui", "Non", "Un garage solidaire près de chez moi"
        ]  # fmt: skip
        rows = reply.markup["inline_keyboard"] if reply.markup else []
        assert [len(row) for row in rows] == [2, 1]  # short labels two per row, long alone


async def test_deep_linked_start_with_referral_code(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        await tg.send_start(CHAT, "CD54-NANCY__b-mobilite_reparation")
        (reply,) = await tg.replies(CHAT)
        assert reply.text == "echo 1: start='CD54-NANCY__b-mobilite_reparation'"
        await tg.send_text(CHAT, "/start")
        (reply,) = await tg.replies(CHAT)
        assert reply.text == "echo 2: start=''"


async def test_button_press_removes_keyboard_and_resolves_long_ids(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        (question,) = await tg.say(CHAT, "je cherche un garage")
        await tg.press(CHAT, "Un garage solidaire près de chez moi")
        (answer,) = await tg.replies(CHAT)
        assert answer.text == f"echo 2: choice={LONG_CHOICE}"
        assert question.buttons == []  # the pressed message lost its keyboard
        assert "answerCallbackQuery" in [m for m, _ in tg.server.calls]
        assert all(tg.server.callback_queries.values())  # every query answered
        await tg.press(CHAT, "Oui")
        (answer,) = await tg.replies(CHAT)
        assert answer.text == "echo 3: choice=oui"


async def test_location_share_and_location_request(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        (ask,) = await tg.say(CHAT, "position")
        assert ask.markup is not None and ask.markup["one_time_keyboard"] is True
        button = ask.markup["keyboard"][0][0]
        assert button == {"text": LOCATION_BUTTON, "request_location": True}
        await tg.send_location(CHAT, 48.6921, 6.1844)
        (reply,) = await tg.replies(CHAT)
        assert reply.text.startswith("echo 2: location=48.6921,6.1844")


async def test_map_link_for_structures_is_one_message(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        (reply,) = await tg.say(CHAT, "carte")
        assert "🗺️ Garage <Solidaire> & Co : voir sur la carte" in reply.text
        assert (
            'href="https://www.openstreetmap.org/?mlat=48.69210&amp;mlon=6.18440#map=16/'
            in reply.raw
        )


async def test_a_reply_about_one_place_is_a_venue_then_its_text(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        venue, text = await tg.say(CHAT, "lieu")
        assert venue.method == "sendVenue" and venue.text == "Garage <Solidaire> & Co"
        assert venue.params == {"latitude": 48.6921, "longitude": 6.1844}
        assert text.text == "1. Garage : tout sur lui." and "openstreetmap" not in text.raw
        (text,) = await tg.say(CHAT, "lieu à distance")  # no coordinates: no venue, no map
        assert text.method == "sendMessage" and "openstreetmap" not in text.raw
        assert tg.server.errors == []


@pytest.mark.parametrize("kind", ["photo", "voice", "sticker", "document", "video", "audio"])
async def test_media_become_unsupported(tmp_path: Path, kind: str) -> None:
    async with telegram_bot(tmp_path) as tg:
        await tg.send_media(CHAT, kind)
        (reply,) = await tg.replies(CHAT)
        assert reply.text == f"echo 1: unsupported={kind}"


async def test_commands_french_and_english_aliases(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        assert [c["command"] for c in tg.server.commands[""]][:3] == [
            "start",
            "aide",
            "recommencer",
        ]
        assert "mydata" in [c["command"] for c in tg.server.commands["en"]]
        (reply,) = await tg.say(CHAT, "/help@AiguillageTestBot")
        assert reply.text == "echo 1: text=/aide lang=fr"
        await tg.send_text(CHAT, "/mydata", language="en")
        (reply,) = await tg.replies(CHAT)
        assert reply.text == "echo 2: text=/mes_donnees lang=en"
        (reply,) = await tg.say(CHAT, "/forget")
        assert reply.text == "C'est effacé."
        (reply,) = await tg.say(CHAT, "re")
        assert reply.text.startswith("echo 1:")  # state was erased


async def test_very_long_reply_is_split_with_keyboard_on_last_part(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        parts = await tg.say(CHAT, "long")
        assert len(parts) >= 3
        assert all(visible_length(p.text) <= 4096 for p in parts)
        assert all(p.text.startswith("§") for p in parts)  # split at paragraph boundaries
        assert [bool(p.buttons) for p in parts] == [False] * (len(parts) - 1) + [True]
        assert tg.server.errors == []


async def test_chats_are_answered_in_order_and_concurrently(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        for n in range(5):
            for chat in (1, 2, 3):
                await tg.send_text(chat, f"m{n}")
        for chat in (1, 2, 3):
            texts = [s.text for s in await tg.replies(chat)]
            assert texts == [f"echo {n + 1}: text=m{n} lang=fr" for n in range(5)]
        assert await tg.store.get_cursor(OFFSET_CURSOR) == str(tg.server.confirmed)


async def test_dialogue_bug_gets_core_apology(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        (reply,) = await tg.say(CHAT, "boom")
        assert reply.text == "Désolé, un souci."


class FlakyDispatcher(Dispatcher):
    """Fails on "casse" every time, and on "hoquet" the first time only."""

    failures = 0

    async def handle(self, incoming: Incoming) -> Turn:
        if incoming.text == "casse" or (incoming.text == "hoquet" and self.failures == 0):
            FlakyDispatcher.failures += 1
            raise RuntimeError("store unavailable")
        return await super().handle(incoming)


async def test_failing_update_is_retried_then_apologised_and_bot_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    FlakyDispatcher.failures = 0
    caplog.set_level(logging.INFO)
    async with telegram_bot(tmp_path, dispatcher_factory=FlakyDispatcher) as tg:
        (reply,) = await tg.say(CHAT, "hoquet")
        assert reply.text == "echo 1: text=hoquet lang=fr"  # retried, then it worked
        (apology,) = await tg.say(CHAT, "casse")
        assert "problème technique" in apology.text or "Désolé" in apology.text
        assert FlakyDispatcher.failures == 1 + 3
        (reply,) = await tg.say(CHAT, "et après ?")
        assert reply.text == "echo 2: text=et après ? lang=fr"
    logged = caplog.text
    assert "casse" not in logged and "hoquet" not in logged and "Personne" not in logged
    assert tg.server.token not in logged


async def test_flood_control_nothing_lost_nothing_repeated(tmp_path: Path) -> None:
    async with telegram_bot(tmp_path) as tg:
        tg.server.flood(2.5, retry_after=1)
        for n in range(4):
            for chat in (11, 12):
                await tg.send_text(chat, f"m{n}")
        for chat in (11, 12):
            texts = [s.text for s in await tg.replies(chat, timeout=20)]
            assert texts == [f"echo {n + 1}: text=m{n} lang=fr" for n in range(4)]
        assert tg.server.flood_answers > 0


async def test_someone_writing_very_fast_never_holds_back_anyone_else(tmp_path: Path) -> None:
    from tests.telegram_server import FakeTelegram

    def with_flood_control(store: Store, dialogue: Callable[[], Any]) -> Dispatcher:
        return Dispatcher(store, dialogue, flood=FloodControl())

    # Telegram's own limit too: one message a second in a chat once its burst is spent
    async with (
        FakeTelegram(strict_rate=True) as server,
        telegram_bot(tmp_path, server=server, dispatcher_factory=with_flood_control) as tg,
    ):
        for n in range(60):
            await tg.send_text(66, f"spam {n}")
        await server.wait_for(lambda: bool(server.sent[66]), 10)  # the flood is being answered
        began = time.monotonic()
        await tg.send_text(CHAT, "bonjour")
        await server.wait_for(lambda: bool(server.sent[CHAT]), 10)
        # measured: well under a second; before the lanes, 9 s (margin for a loaded machine)
        assert time.monotonic() - began < 3.0
        assert server.sent[CHAT][0].text == "echo 1: text=bonjour lang=fr"
        assert 0 < len(server.sent[66]) < 60  # the flooder is answered, still slowly


async def test_updates_kept_by_a_run_that_died_are_answered_first_next_time(
    tmp_path: Path,
) -> None:
    """A run took three updates (kept, Telegram told) and died before answering them."""
    import json

    def raw(update_id: int, text: str) -> str:
        return json.dumps({"update_id": update_id, "message": {
            "message_id": update_id, "date": 0, "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "X", "language_code": "fr"},
            "text": text}})  # fmt: skip

    async with Store.open(tmp_path / "telegram.db") as store:
        kept = [(f"{BOT_ID}:{900 + n}", raw(900 + n, f"m{n}")) for n in range(3)]
        await store.receive(f"telegram:{BOT_ID}", kept, [(OFFSET_CURSOR, "903")])
    with sqlite3.connect(tmp_path / "telegram.db") as db:
        bodies = b"".join(row[0] for row in db.execute("SELECT body FROM received"))
    assert b"first_name" not in bodies and b"text" not in bodies  # sealed at rest
    from tests.telegram_server import FakeTelegram

    async with FakeTelegram() as server:
        server._ids = itertools.count(903)  # Telegram goes on after what it was told
        async with telegram_bot(tmp_path, server=server) as tg:
            await tg.send_text(CHAT, "m3")  # written after the restart: answered after
            texts = [s.text for s in await tg.replies(CHAT)]
            assert texts == [f"echo {n + 1}: text=m{n} lang=fr" for n in range(4)]
            assert await tg.store.received(f"telegram:{BOT_ID}") == []


async def test_updates_sent_while_down_are_answered_once_at_start(tmp_path: Path) -> None:
    from tests.telegram_server import FakeTelegram

    async with FakeTelegram() as server:
        await server.send_text(1, "pendant la panne")
        await server.send_text(2, "moi aussi")
        async with telegram_bot(tmp_path, server=server) as tg:
            assert [s.text for s in await tg.replies(1)] == [
                "echo 1: text=pendant la panne lang=fr"
            ]
            assert [s.text for s in await tg.replies(2)] == ["echo 1: text=moi aussi lang=fr"]
        # a second start re-reads the stored offset: nothing is answered twice
        async with telegram_bot(tmp_path, server=server) as tg:
            await tg.send_text(1, "encore")
            assert [s.text for s in await tg.replies(1)] == ["echo 2: text=encore lang=fr"]
        assert len(server.sent[2]) == 1
        assert not any(params.get("drop_pending_updates") in (True, "true")
                       for method, params in server.calls if method == "deleteWebhook")  # fmt: skip


async def test_redelivered_update_is_not_answered_twice(tmp_path: Path) -> None:
    """A crash after sending but before the offset moved: Telegram delivers again."""
    async with telegram_bot(tmp_path) as tg:
        update_id = await tg.send_text(CHAT, "une fois")
        assert len(await tg.replies(CHAT)) == 1
        raw = {"update_id": update_id, "message": {
            "message_id": 99, "date": 0, "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "X"},
            "text": "une fois"}}  # fmt: skip
        assert await tg.adapter.process(Update.de_json(raw, tg.adapter.bot))
        assert len(tg.server.sent[CHAT]) == 1


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (ApiError(502, "Bad Gateway"), "a server error: retried as a network error"),
        (ApiError(400, "Bad Request: message is too long"), "the HTML refused: sent as plain text"),
    ],
)
async def test_an_error_after_part_of_a_turn_was_sent_never_resends_that_part(
    tmp_path: Path, error: ApiError, why: str
) -> None:
    async with telegram_bot(tmp_path, max_attempts=2) as tg:
        tg.server.send_failures = [(1, error)]  # the second message of the turn fails once
        replies = await tg.say(CHAT, "deux")
        texts = [r.text for r in replies]
        assert texts.count("premier message") == 1, (why, texts)
        assert texts == ["premier message", "second message"], why
        # the progress row only holds turns being sent: nothing once this one is complete
        assert await tg.store.get_cursor(f"telegram:{BOT_ID}:progress") == "{}"


async def test_a_turn_cut_by_a_crash_resumes_after_the_parts_sent(tmp_path: Path) -> None:
    from tests.telegram_server import FakeTelegram

    async with FakeTelegram() as server:
        async with telegram_bot(tmp_path, server=server) as tg:
            replies = await tg.say(CHAT, "deux")
            assert [r.text for r in replies] == ["premier message", "second message"]
            # as left by a kill between the two messages of update 777: one part sent
            await tg.store.set_cursor(f"telegram:{BOT_ID}:progress", '{"777": 1}')
        async with telegram_bot(tmp_path, server=server) as tg:  # the restart reads it back
            turn = Turn([Reply("premier message"), Reply("second message")])
            await tg.adapter._send_turn(CHAT, 777, turn)
            assert [s.text for s in server.sent[CHAT]][2:] == ["second message"]


async def test_cursor_and_event_ids_belong_to_the_bot(tmp_path: Path) -> None:
    """A database reused for another bot keeps that bot's offset apart and does not take its
    updates for the first bot's (update ids are unique per bot only)."""
    from tests.telegram_server import FakeTelegram

    other_token = "777777:OTHER-token_abcdefghijklmnopqrstuv"
    async with telegram_bot(tmp_path) as tg:
        first = await tg.send_text(CHAT, "premier bot")
        await tg.replies(CHAT)
    async with FakeTelegram(other_token) as other:
        other._ids = itertools.count(first)  # the same update ids as the first bot
        async with telegram_bot(tmp_path, server=other) as tg2:
            await tg2.send_text(CHAT, "second bot")
            (reply,) = await tg2.replies(CHAT)
            assert reply.text.endswith("text=second bot lang=fr")
            assert await tg2.store.get_cursor(offset_cursor(777777)) == str(first + 1)
            assert await tg2.store.get_cursor(OFFSET_CURSOR) == str(first + 1)


# --- webhook -----------------------------------------------------------------------------------


async def test_webhook_mode_checks_secret_and_answers(tmp_path: Path) -> None:
    import aiohttp

    from adapters.base import AdapterContext, Backoff
    from adapters.telegram import TelegramAdapter
    from bot.store import Store
    from tests.telegram_harness import EchoDialogue
    from tests.telegram_server import FakeTelegram

    env = {
        "AIGUILLAGE_TELEGRAM_TOKEN": "123456:TEST-token_abcdefghijklmnopqrstuv",
        "HOOK": "s3cret",
    }
    async with FakeTelegram() as server, Store.open(tmp_path / "w.db") as store:
        dialogue = EchoDialogue()
        settings = TelegramSettings.parse(
            {"base_url": server.base_url, "mode": "webhook",
             "webhook": {"listen": "127.0.0.1", "port": 0, "url": "https://bot.example.org/tg",
                         "secret_token_env": "HOOK"}},
            env=env,
        )  # fmt: skip
        context = AdapterContext(Dispatcher(store, lambda: dialogue), store, {}, str(tmp_path))
        adapter = TelegramAdapter(context, settings, backoff=Backoff(0.05, 0.5))
        stop = asyncio.Event()
        task = asyncio.create_task(adapter.run(stop))
        await server.wait_for(lambda: server.webhook is not None)
        assert server.webhook is not None and server.webhook["secret_token"] == "s3cret"
        url = f"http://127.0.0.1:{adapter.webhook_port}/tg"
        update: dict[str, Any] = {"update_id": 1, "message": {
            "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "X"}, "text": "salut"}}  # fmt: skip
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=update) as response:
                assert response.status == 403  # no secret header
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
            for _ in range(2):  # Telegram re-delivers: answered once
                async with session.post(url, json=update, headers=headers) as response:
                    assert response.status == 200
        assert [s.text for s in server.sent[5]] == ["echo 1: text=salut lang=None"]
        stop.set()
        await asyncio.wait_for(task, 5)


# --- settings, incoming mapping, rendering -----------------------------------------------------


def test_missing_token_is_a_clear_french_config_error() -> None:
    with pytest.raises(ConfigError, match="AIGUILLAGE_TELEGRAM_TOKEN"):
        TelegramSettings.parse({}, env={})
    with pytest.raises(ConfigError, match="MON_JETON"):
        TelegramSettings.parse({"token_env": "MON_JETON"}, env={})


def test_unknown_keys_get_did_you_mean() -> None:
    env = {"AIGUILLAGE_TELEGRAM_TOKEN": "1:a"}
    with pytest.raises(ConfigError, match="Vouliez-vous dire « base_url »"):
        TelegramSettings.parse({"base_ur": "x"}, env=env)
    with pytest.raises(ConfigError, match="« webhook »"):
        TelegramSettings.parse({"mode": "webhok"}, env=env)
    with pytest.raises(ConfigError, match="https"):
        TelegramSettings.parse({"mode": "webhook", "webhook": {"url": "http://x"}}, env=env)
    with pytest.raises(ConfigError, match="secret_token_env"[:6]):
        TelegramSettings.parse(
            {"mode": "webhook", "webhook": {"url": "https://x", "secret_tokn_env": "A"}}, env=env
        )


def test_create_reads_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.base import AdapterContext

    monkeypatch.delenv("AIGUILLAGE_TELEGRAM_TOKEN", raising=False)
    context = AdapterContext(None, None, {}, "/tmp")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        create(context)


def test_deep_link_helper() -> None:
    assert (
        deep_link("@AiguillageBot", "CD54-NANCY") == "https://t.me/AiguillageBot?start=CD54-NANCY"
    )
    for bad in ("", "a" * 65, "avec espace", "é"):
        with pytest.raises(ValueError):
            deep_link("AiguillageBot", bad)


def test_callback_data_digest_is_short_and_stable() -> None:
    assert callback_data("oui") == "oui"
    digest = callback_data(LONG_CHOICE)
    assert digest == callback_data(LONG_CHOICE) and len(digest.encode()) <= 64
    assert callback_data("~trick") != "~trick"  # our prefix is never taken verbatim


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    text = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    lines = "\n".join(["ligne " * 100] * 20)
    parts = split_text(lines)
    assert all(visible_length(p) <= 4096 for p in parts) and len(parts) >= 3
    assert all(p.endswith("ligne") for p in parts)
    words = " ".join(["mot"] * 3000)
    assert all(p.startswith("mot") and p.endswith("mot") for p in split_text(words))
    assert "".join(split_text("x" * 9000)) == "x" * 9000
    assert all(visible_length(p) <= 4096 for p in split_text("😀" * 5000))


def test_render_escapes_and_handles_empty_text() -> None:
    (message,) = render_reply(Reply('<b>pas du gras</b> & "guillemets"', (Choice("a", "A"),)))
    assert message.html == escape('<b>pas du gras</b> & "guillemets"')
    assert message.markup is not None
    (empty,) = render_reply(Reply("  "))
    assert empty.plain.strip()
    both = render_reply(Reply("Où ?", (Choice("a", "A"),), request_location=True))
    assert len(both) == 2 and both[1].markup is not None


def _update(payload: dict[str, Any]) -> Update:
    update = Update.de_json({"update_id": 9, **payload}, None)
    assert update is not None
    return update


def test_incoming_mapping() -> None:
    base = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "X",
                     "language_code": "ar"}}  # fmt: skip
    incoming = to_incoming(_update({"message": {**base, "text": "/oubli"}}))
    assert incoming == Incoming("telegram", "7", "9", text="/oubli", language="ar")
    group = {**base, "chat": {"id": -5, "type": "group"}, "text": "hello"}
    assert to_incoming(_update({"message": group})) is None  # groups are not served
    venue = to_incoming(_update({"message": {**base, "location": {"latitude": 1, "longitude": 2}}}))
    assert venue is not None and venue.kind == "location"
