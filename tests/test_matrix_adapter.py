"""The Matrix adapter: settings, rendering and parsing offline; then against a real Synapse with
real nio clients as beneficiaries (first with a scripted dialogue, then with the real core)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nio
import pytest

from adapters import matrix as mx
from adapters.base import AdapterContext, ConfigError
from bot.dispatcher import Dispatcher, StepResult
from bot.messages import Choice, Incoming, Location, Reply, StructureCard, Turn
from bot.store import Store
from tests.synapse_fixture import Person, Synapse, person, synapse_server  # noqa: F401

E2E = bool(nio.crypto.ENCRYPTION_ENABLED)

# --- settings (offline) --------------------------------------------------------------------------

BASE = {"homeserver": "https://matrix.example.org", "user_id": "@aiguillage:example.org"}


def test_settings_defaults_and_secret_from_environment() -> None:
    s = mx.MatrixSettings.parse(BASE, {"AIGUILLAGE_MATRIX_PASSWORD": "pw"})
    assert s.password == "pw" and s.access_token is None
    assert (s.invite_policy, s.shared_rooms, s.encryption) == ("anyone", "separate", "auto")
    custom = mx.MatrixSettings.parse({**BASE, "access_token_env": "TOK"}, {"TOK": "t"})
    assert custom.access_token == "t"


def test_unknown_setting_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="Vouliez-vous dire « invite_policy »"):
        mx.MatrixSettings.parse({**BASE, "invite_polcy": "anyone"}, {})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"homeserver": "matrix.example.org"}, "homeserver"),
        ({"user_id": "aiguillage"}, "user_id"),
        ({"invite_policy": "servers"}, "allowed_servers"),
        ({"shared_rooms": "refus"}, "Vouliez-vous dire « refuse »"),
        ({"encryption": "on"}, "auto, off"),
    ],
)
def test_bad_settings_are_explained(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mx.MatrixSettings.parse({**BASE, **extra}, {"AIGUILLAGE_MATRIX_PASSWORD": "pw"})


async def test_missing_secret_is_a_french_config_error(tmp_path: Path) -> None:
    os.environ.pop("AIGUILLAGE_MATRIX_PASSWORD", None)
    os.environ.pop("AIGUILLAGE_MATRIX_TOKEN", None)
    async with Store.open(tmp_path / "a.db") as store:
        context = AdapterContext(Dispatcher(store, ScriptedDialogue), store, BASE, str(tmp_path))
        with pytest.raises(ConfigError, match="AIGUILLAGE_MATRIX_PASSWORD"):
            mx.create(context)


def test_matrix_link() -> None:
    assert mx.matrix_link("@bot:example.org") == "https://matrix.to/#/@bot:example.org"
    with pytest.raises(ConfigError):
        mx.matrix_link("bot")


# --- rendering and parsing (offline) -------------------------------------------------------------


def test_html_is_escaped_and_choices_are_a_list() -> None:
    reply = Reply(
        "Vous avez écrit : <b>&\"'\nSuite", (Choice("a", "<i>Emploi</i>"), Choice("b", "B&B"))
    )
    content = mx.reply_content(reply)
    assert content["format"] == "org.matrix.custom.html"
    assert content["body"] == "Vous avez écrit : <b>&\"'\nSuite\n\n1. <i>Emploi</i>\n2. B&B"
    html = content["formatted_body"]
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;&amp;&quot;&#x27;<br>Suite" in html
    assert html.endswith("<ol><li>&lt;i&gt;Emploi&lt;/i&gt;</li><li>B&amp;B</li></ol>")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("geo:48.6921,6.1844", Location(48.6921, 6.1844)),
        ("geo:48.69,6.18;u=35", Location(48.69, 6.18)),
        ("geo:-12.5,45.1,20;crs=wgs84", Location(-12.5, 45.1)),
        ("geo:91,0", None),
        ("https://example.org", None),
    ],
)
def test_geo_uri(uri: str, expected: Location | None) -> None:
    assert mx.parse_geo_uri(uri) == expected


def _event(content: dict[str, Any], type_: str = "m.room.message") -> Any:
    return nio.Event.parse_event(
        {
            "type": type_,
            "event_id": "$e1",
            "sender": "@ben:localhost",
            "origin_server_ts": 1,
            "content": content,
        }
    )


@pytest.mark.parametrize(
    ("content", "type_", "kind", "value"),
    [
        ({"msgtype": "m.text", "body": "bonjour"}, "m.room.message", "text", "bonjour"),
        ({"msgtype": "m.text", "body": "> <@bot:x> Q\n\n2"}, "m.room.message", "text", "2"),
        ({"msgtype": "m.location", "body": "ici", "geo_uri": "geo:48.69,6.18"},
         "m.room.message", "location", Location(48.69, 6.18)),
        ({"msgtype": "m.image", "body": "a.jpg", "url": "mxc://x/y"}, "m.room.message",
         "unsupported", "image"),
        ({"msgtype": "m.audio", "body": "a.ogg", "url": "mxc://x/y"}, "m.room.message",
         "unsupported", "audio"),
        ({"msgtype": "m.video", "body": "a.mp4", "url": "mxc://x/y"}, "m.room.message",
         "unsupported", "video"),
        ({"msgtype": "m.file", "body": "a.pdf", "url": "mxc://x/y"}, "m.room.message",
         "unsupported", "file"),
        ({"body": "s", "url": "mxc://x/y", "info": {}}, "m.sticker", "unsupported", "sticker"),
    ],
)  # fmt: skip
def test_events_become_incoming(content: dict[str, Any], type_: str, kind: str, value: Any) -> None:
    incoming = mx.to_incoming(_event(content, type_), "!r|@ben:localhost")
    assert incoming is not None and incoming.kind == kind and incoming.event_id == "$e1"
    assert getattr(incoming, kind) == value


def test_notices_and_edits_are_not_answered() -> None:
    assert mx.to_incoming(_event({"msgtype": "m.notice", "body": "bip"}), "c") is None
    edit = {"msgtype": "m.text", "body": "* x", "m.new_content": {"msgtype": "m.text", "body": "x"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$e0"}}  # fmt: skip
    assert mx.to_incoming(_event(edit), "c") is None


def test_error_values_become_exceptions() -> None:
    error = nio.RoomSendError("slow down", "M_LIMIT_EXCEEDED", retry_after_ms=1200)
    with pytest.raises(mx.MatrixError) as caught:
        mx.check(error)
    assert caught.value.transient and caught.value.retry_after_ms == 1200
    forbidden = nio.RoomSendError("no", "M_FORBIDDEN")
    with pytest.raises(mx.MatrixError) as caught:
        mx.check(forbidden)
    assert not caught.value.transient
    ok = nio.RoomSendResponse("$x", "!r")
    assert mx.check(ok) is ok


# --- against Synapse, with a scripted dialogue ---------------------------------------------------


class ScriptedDialogue:
    """Says back what it understood; deterministic, so tests can count answers per message."""

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        count = int((state or {}).get("n", 0)) + 1
        choices: tuple[Choice, ...] = ()
        if incoming.start is not None:
            text = "Bonjour ! Que cherchez-vous ?"
            choices = (Choice("emploi", "Un emploi"), Choice("mobilite", "Me déplacer"))
        elif incoming.location is not None:
            text = f"position {incoming.location.lat:.4f},{incoming.location.lon:.4f}"
        elif incoming.unsupported is not None:
            text = f"non lu : {incoming.unsupported}"
        else:
            text = f"reçu : {incoming.text}"
        replies = [Reply(text, choices)]
        if incoming.text and incoming.text.startswith("deux"):
            replies.append(Reply(f"suite : {incoming.text}"))
        return StepResult(turn=Turn(replies), state={"n": count})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply("données")

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("oups")


@dataclass
class Bot:
    adapter: mx.MatrixAdapter
    user_id: str
    store: Store
    data_dir: Path


@contextlib.asynccontextmanager
async def running_bot(
    synapse: Synapse,
    data_dir: Path,
    dispatcher_factory: Any = None,
    encryption: str = "auto",
    user: tuple[str, str] | None = None,
    **settings: Any,
) -> AsyncIterator[Bot]:
    user_id, password = user or synapse.register("bot")
    env = f"TEST_BOT_PW_{abs(hash(user_id))}"
    os.environ[env] = password
    raw = {"homeserver": synapse.url, "user_id": user_id, "password_env": env,
           "encryption": encryption, **settings}  # fmt: skip
    async with contextlib.AsyncExitStack() as stack:
        if dispatcher_factory is None:
            store = await stack.enter_async_context(Store.open(data_dir / "a.db"))
            dispatcher = Dispatcher(store, ScriptedDialogue)
        else:
            dispatcher = await stack.enter_async_context(dispatcher_factory(data_dir))
            store = dispatcher.store
        adapter = mx.create(AdapterContext(dispatcher, store, raw, str(data_dir)))
        stop = asyncio.Event()
        task = asyncio.create_task(adapter.run(stop))
        ready = asyncio.create_task(adapter.ready.wait())
        await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():
            task.result()
        assert adapter.ready.is_set(), "the Matrix adapter did not get ready in 30 s"
        try:
            yield Bot(adapter, user_id, store, data_dir)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)


pytestmark_synapse = pytest.mark.synapse


@pytest.mark.synapse
async def test_invite_greeting_text_choices_location_and_media(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with running_bot(synapse, tmp_path) as bot, person(synapse, bot.user_id) as ben:
        room = await ben.dm()
        greeting = await ben.wait_replies(room, 1)
        assert greeting[0].body == "Bonjour ! Que cherchez-vous ?\n\n1. Un emploi\n2. Me déplacer"
        assert greeting[0].formatted_body is not None
        assert greeting[0].formatted_body.endswith(
            "<ol><li>Un emploi</li><li>Me déplacer</li></ol>"
        )

        got = await ben.ask(room, "2")
        assert [r.body for r in got] == ["reçu : 2"]
        got = await ben.ask(room, "deux messages")
        assert [r.body for r in got] == ["reçu : deux messages", "suite : deux messages"]

        before = len(ben.replies(room))
        await ben.send(room, {"msgtype": "m.location", "body": "Ma position",
                              "geo_uri": "geo:48.6921,6.1844;u=20"})  # fmt: skip
        got = await ben.collect(room, before)
        assert [r.body for r in got] == ["position 48.6921,6.1844"]

        before = len(ben.replies(room))
        await ben.send(
            room, {"msgtype": "m.image", "body": "photo.jpg", "url": "mxc://localhost/x"}
        )
        got = await ben.collect(room, before)
        assert [r.body for r in got] == ["non lu : image"]

        got = await ben.ask(room, "<b>&amp; <script>x</script>")
        assert got[0].body == "reçu : <b>&amp; <script>x</script>"
        assert got[0].formatted_body == "reçu : &lt;b&gt;&amp;amp; &lt;script&gt;x&lt;/script&gt;"


@pytest.mark.synapse
async def test_credentials_are_saved_private_and_reused(synapse: Synapse, tmp_path: Path) -> None:
    user = synapse.register("bot")
    async with running_bot(synapse, tmp_path, user=user) as bot:
        first_device = bot.adapter.client.device_id
    path = tmp_path / mx.CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    crypto = tmp_path / mx.CRYPTO_STORE_DIR
    assert stat.S_IMODE(crypto.stat().st_mode) == 0o700
    for item in crypto.rglob("*"):
        assert stat.S_IMODE(item.stat().st_mode) == (0o700 if item.is_dir() else 0o600), item
    async with running_bot(synapse, tmp_path, user=user) as bot:
        assert bot.adapter.client.device_id == first_device
        cursor = await bot.store.get_cursor(mx.cursor_name(user[0], str(first_device)))
        assert cursor is not None  # the sync position is the account's and the device's


@pytest.mark.synapse
async def test_a_restored_older_backup_replays_but_never_answers_again(
    synapse: Synapse, tmp_path: Path
) -> None:
    """The database goes back to a backup taken before three messages were answered: the bot
    syncs from the older position, replays those messages into the core (its state follows what
    the person saw) and sends nothing for them: its own answers are in the room."""
    import sqlite3

    user = synapse.register("bot")
    db = tmp_path / "a.db"
    async with person(synapse, user[0]) as ben:
        async with running_bot(synapse, tmp_path, user=user):
            room = await ben.dm()
            await ben.wait_replies(room, 1)
            await ben.ask(room, "avant")
            with sqlite3.connect(db) as live, sqlite3.connect(tmp_path / "backup.db") as copy:
                live.backup(copy)
            await ben.ask(room, "deux après")
            await ben.ask(room, "après")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        (tmp_path / "backup.db").rename(db)
        async with running_bot(synapse, tmp_path, user=user) as bot:
            got = await ben.ask(room, "nouveau")
            assert [r.body for r in got] == ["reçu : nouveau"]
            assert bot.adapter.sent == 1
            key = bot.store.key_for("matrix", mx.conversation_key(room, ben.user_id))
            assert (await bot.store.load_state(key)) == {"n": 5}  # greeting + 4 messages
        bodies = [r.body.split("\n")[0] for r in ben.replies(room)]
        assert bodies == ["Bonjour ! Que cherchez-vous ?", "reçu : avant", "reçu : deux après",
                          "suite : deux après", "reçu : après", "reçu : nouveau"]  # fmt: skip


@pytest.mark.synapse
async def test_first_start_does_not_replay_history(synapse: Synapse, tmp_path: Path) -> None:
    user = synapse.register("bot")
    async with (
        running_bot(synapse, tmp_path / "one", user=user) as bot,
        person(synapse, bot.user_id) as ben,
    ):
        room = await ben.dm()
        await ben.wait_replies(room, 1)
        await ben.ask(room, "ancien message")
    # a brand-new data dir (no cursor) must not answer "ancien message" again
    async with (
        running_bot(synapse, tmp_path / "two", user=user) as bot2,
        person(synapse, bot2.user_id) as ben2,
    ):
        room2 = await ben2.dm()
        await ben2.wait_replies(room2, 1)
        await ben2.ask(room2, "nouveau")
        await asyncio.sleep(0.5)
    assert [r.body for r in ben.replies(room)] == [
        "Bonjour ! Que cherchez-vous ?\n\n1. Un emploi\n2. Me déplacer",
        "reçu : ancien message",
    ]


@pytest.mark.synapse
async def test_invite_policy_servers_refuses_other_servers(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with (
        running_bot(
            synapse, tmp_path, invite_policy="servers", allowed_servers=["example.org"]
        ) as bot,
        person(synapse, bot.user_id) as ben,
    ):
        resp = await ben.client.room_create(is_direct=True, invite=[bot.user_id])
        room_id = resp.room_id
        await ben.wait_for(
            lambda: (
                bot.user_id not in ben.client.rooms[room_id].invited_users
                and bot.user_id not in ben.client.rooms[room_id].users
            ),
            what="invitation rejected",
        )
        assert ben.replies(room_id) == []


@pytest.mark.synapse
async def test_shared_room_separate_and_refuse(synapse: Synapse, tmp_path: Path) -> None:
    async with (
        running_bot(synapse, tmp_path / "s") as bot,
        person(synapse, bot.user_id) as ann,
        person(synapse, bot.user_id) as bob,
    ):
        resp = await ann.client.room_create(invite=[bot.user_id, bob.user_id])
        room = resp.room_id
        await bob.wait_for(lambda: room in bob.client.invited_rooms, what="bob invited")
        assert not isinstance(await bob.client.join(room), nio.ErrorResponse)
        await ann.wait_for(
            lambda: ann._bot_joined(room) and bob.user_id in ann.client.rooms[room].users
        )
        await ann.wait_replies(room, 1)  # the greeting, to the inviter
        a = await ann.ask(room, "je suis Ann")
        b = await bob.ask(room, "je suis Bob")
        assert a[-1].body == "reçu : je suis Ann" and b[-1].body == "reçu : je suis Bob"
        assert b[-1].relates_to is not None  # in a shared room, answers point at the question
        # separate conversations: each one's state counts its own messages
        keys = {bot.store.key_for("matrix", mx.conversation_key(room, u)) for u in
                (ann.user_id, bob.user_id)}  # fmt: skip
        states = [await bot.store.load_state(k) for k in keys]
        assert sorted(s["n"] for s in states if s) == [1, 2]  # Ann: greeting + 1, Bob: 1

    async with (
        running_bot(synapse, tmp_path / "r", shared_rooms="refuse") as bot,
        person(synapse, bot.user_id) as ann,
        person(synapse, bot.user_id) as bob,
    ):
        resp = await ann.client.room_create(invite=[bob.user_id])
        room = resp.room_id
        await bob.wait_for(lambda: room in bob.client.invited_rooms, what="bob invited")
        await bob.client.join(room)
        await ann.wait_for(lambda: bob.user_id in ann.client.rooms[room].users)
        await ann.client.room_invite(room, bot.user_id)
        got = await ann.wait_replies(room, 1)
        assert got[0].body == mx.SHARED_ROOM_REFUSAL
        await ann.wait_for(
            lambda: bot.user_id not in ann.client.rooms[room].users, what="bot leaves"
        )


@pytest.mark.synapse
async def test_bot_leaves_when_the_person_leaves(synapse: Synapse, tmp_path: Path) -> None:
    async with running_bot(synapse, tmp_path) as bot, person(synapse, bot.user_id) as ben:
        room = await ben.dm()
        await ben.wait_replies(room, 1)
        assert not isinstance(await ben.client.room_leave(room), nio.ErrorResponse)
        client = bot.adapter.client
        for _ in range(200):
            if room not in client.rooms:
                break
            await asyncio.sleep(0.05)
        joined = await client.joined_rooms()
        assert room not in joined.rooms


@pytest.mark.synapse
@pytest.mark.skipif(not E2E, reason="needs matrix-nio[e2e] (pip install 'aiguillage[e2e]')")
async def test_encrypted_dm(synapse: Synapse, tmp_path: Path) -> None:
    async with (
        running_bot(synapse, tmp_path / "bot") as bot,
        person(synapse, bot.user_id, store_dir=tmp_path / "ben-store") as ben,
    ):
        assert bot.adapter.encryption
        room = await ben.dm(encrypted=True)
        greeting = await ben.wait_replies(room, 1)
        assert greeting[0].body.startswith("Bonjour !")
        assert ben.client.rooms[room].encrypted
        got = await ben.ask(room, "secret <b>")
        assert [r.body for r in got] == ["reçu : secret <b>"]
        # what the bot sent reached the server as ciphertext (nio decrypted it for Ben)
        page = await ben.client.room_messages(room, start=ben.client.next_batch, limit=20)
        texts = [e for e in page.chunk if isinstance(e, nio.RoomMessageText)]
        assert len(texts) == 3 and all(e.decrypted for e in texts)


@pytest.mark.synapse
async def test_encrypted_room_without_encryption_gets_a_clear_answer(
    synapse: Synapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if not E2E:
        pytest.skip("the beneficiary side needs matrix-nio[e2e] to encrypt")
    async with (
        running_bot(synapse, tmp_path / "bot", encryption="off") as bot,
        person(synapse, bot.user_id, store_dir=tmp_path / "ben-store") as ben,
    ):
        room = await ben.dm(encrypted=True)
        await ben.wait_replies(room, 1)  # the greeting is sent in clear
        got = await ben.ask(room, "bonjour")
        assert got[-1].body == mx.ENCRYPTION_UNAVAILABLE_REPLY
    assert any("encryption is off" in r.getMessage() for r in caplog.records)


# --- against Synapse, with the real core ---------------------------------------------------------


def _real_app(data_dir: Path) -> Any:
    from bot.app import open_app
    from bot.config import Config

    @contextlib.asynccontextmanager
    async def dispatcher() -> AsyncIterator[Dispatcher]:
        async with open_app(Config(database=data_dir / "a.db")) as app:
            yield app.dispatcher

    return dispatcher()


async def _replayed(data_dir: Path, events: list[dict[str, Any]]) -> list[str]:
    """What the core answers to these events in a fresh conversation (it is deterministic)."""
    from adapters.base import render_numbered
    from bot.app import open_app
    from bot.config import Config

    bodies: list[str] = []
    async with open_app(Config(database=data_dir / "replay.db")) as app:
        for n, fields in enumerate(events):
            turn = await app.dispatcher.handle(Incoming("matrix", "x", f"$r{n}", **fields))
            bodies += [render_numbered(r) for r in turn.replies]
    return bodies


@pytest.mark.synapse
async def test_real_orientation_by_words_numbers_location_and_code(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with (
        running_bot(synapse, tmp_path, dispatcher_factory=_real_app) as bot,
        person(synapse, bot.user_id) as ben,
    ):
        room = await ben.dm()
        greeting = await ben.collect(room, 0)
        assert "\n1. " in greeting[-1].body and "<ol><li>" in (greeting[-1].formatted_body or "")
        script = [
            "je cherche un chantier d'insertion",  # free text: a need
            "Nancy",  # a commune
            "1",  # a number: the first choice offered
        ]
        for text in script:
            await ben.ask(room, text)
        before = len(ben.replies(room))
        await ben.send(room, {"msgtype": "m.location", "body": "Ma position",
                              "geo_uri": "geo:48.6921,6.1844"})  # fmt: skip
        await ben.collect(room, before)
        before = len(ben.replies(room))
        await ben.send(room, {"msgtype": "m.image", "body": "p.jpg", "url": "mxc://localhost/x"})
        await ben.collect(room, before)
        coded = await ben.ask(room, "code CD54-NANCY")
        assert any("CD54-NANCY" in r.body for r in coded)
        escaped = await ben.ask(room, "<b>&")
        assert all("<b>" not in (r.formatted_body or "") for r in escaped)
    events: list[dict[str, Any]] = [{"start": ""}]
    events += [{"text": t} for t in script]
    events += [{"location": Location(48.6921, 6.1844)}, {"unsupported": "image"},
               {"text": "code CD54-NANCY"}, {"text": "<b>&"}]  # fmt: skip
    expected = await _replayed(tmp_path, events)
    assert [r.body for r in ben.replies(room)] == expected
    # the orientation went through: structures were proposed after the number answer
    assert any("km" in body for body in expected)


def test_a_reply_about_one_place_is_followed_by_its_location() -> None:
    place = StructureCard("s1", "Garage & Co", "garage_solidaire", 1.5, adresse="3 rue X",
                          commune="Nancy", latitude=48.6921, longitude=6.1844)  # fmt: skip
    about = Reply("1. Garage & Co : tout.", structures=(place,), venue=True)
    text, location = mx.turn_contents([about], "$asked", "$asked")
    assert text["msgtype"] == "m.text" and text["m.relates_to"]["m.in_reply_to"]
    assert location["msgtype"] == "m.location" and location["geo_uri"] == "geo:48.69210,6.18440"
    assert location["body"] == "Garage & Co — 3 rue X, Nancy (geo:48.69210,6.18440)"
    assert [c[mx.ANSWER_KEY]["part"] for c in (text, location)] == [0, 1]
    assert {c[mx.ANSWER_KEY]["parts"] for c in (text, location)} == {2}
    listed = Reply("Voici.", structures=(place, place))  # a list of results: no location
    remote = Reply("Tout.", structures=(replace(place, latitude=None),), venue=True)
    assert [c["msgtype"] for c in mx.turn_contents([listed, remote], None, "$e")] == [
        "m.text", "m.text"
    ]  # fmt: skip


@pytest.mark.synapse
async def test_more_about_one_result_sends_its_geo_location(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with (
        running_bot(synapse, tmp_path, dispatcher_factory=_real_app) as bot,
        person(synapse, bot.user_id) as ben,
    ):
        room = await ben.dm()
        await ben.collect(room, 0)
        await ben.ask(room, "je cherche un garage solidaire à Nancy")
        details, location = await ben.ask(room, "plus d'infos sur le 1")
        assert details.body.startswith("1. Garage solidaire de Jarville (exemple)")
        assert location.content["msgtype"] == "m.location"
        assert location.content["geo_uri"].startswith("geo:48.")
        assert location.body.startswith("Garage solidaire de Jarville (exemple) — ")


@pytest.mark.synapse
async def test_history_before_the_bot_joined_is_not_answered(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with running_bot(synapse, tmp_path) as bot, person(synapse, bot.user_id) as ben:
        resp = await ben.client.room_create(is_direct=True)
        room = resp.room_id
        await ben.wait_for(lambda: room in ben.client.rooms, what="room created")
        await ben.say(room, "écrit avant l'arrivée du bot")
        await ben.client.room_invite(room, bot.user_id)
        await ben.wait_replies(room, 1)
        got = await ben.ask(room, "après")
        assert [r.body for r in ben.replies(room)] == [
            "Bonjour ! Que cherchez-vous ?\n\n1. Un emploi\n2. Me déplacer",
            "reçu : après",
        ]
        assert [r.body for r in got] == ["reçu : après"]


@pytest.mark.synapse
async def test_someone_writing_very_fast_never_holds_back_anyone_else(
    synapse: Synapse, tmp_path: Path
) -> None:
    import time

    from bot.flood import FloodControl

    @contextlib.asynccontextmanager
    async def with_flood_control(data_dir: Path) -> AsyncIterator[Dispatcher]:
        async with Store.open(data_dir / "a.db") as store:
            yield Dispatcher(store, ScriptedDialogue, flood=FloodControl())

    async with (
        running_bot(synapse, tmp_path, dispatcher_factory=with_flood_control) as bot,
        person(synapse, bot.user_id) as flooder,
        person(synapse, bot.user_id) as ben,
    ):
        spam, room = await flooder.dm(), await ben.dm()
        await flooder.wait_replies(spam, 1)
        await ben.wait_replies(room, 1)
        await asyncio.gather(*(flooder.say(spam, f"spam {n}") for n in range(60)))  # a script
        await flooder.wait_replies(spam, 20)  # the burst is answered; the rest waits its turn
        began = time.monotonic()
        await ben.say(room, "bonjour")
        got = await ben.wait_replies(room, 2, timeout=20)
        # measured: 0.2 s; before the lanes, 9.2 s (margin for a loaded machine)
        assert time.monotonic() - began < 3.0
        assert got[1].body == "reçu : bonjour"
        assert 20 <= len(flooder.replies(spam)) < 61  # the flooder is answered, still slowly
