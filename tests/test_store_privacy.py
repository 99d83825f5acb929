"""Only consented data is kept, nothing personal reaches the logs, and /oubli leaves nothing
linkable, in the tables or in the files on disk."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.logs import PrivateLogFilter, install_private_logging
from bot.messages import Turn
from bot.privacy import mask_personal
from bot.store import Store, TurnRecord, Unanswered
from bot.terminal import printable
from tests.conftest import Conversation

ROOT = Path(__file__).resolve().parents[1]
NAME, SURNAME = "Karimou", "Benalidze"
PHONE = "06 12 34 56 78"
CALLBACK_PHONE = "07 81 23 45 67"
EMAIL = "karimou.benalidze@example.org"
GIBBERISH = "xqzwblorp zorglubien"  # a question the bot cannot understand, and a unique token


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("appelez-moi au 06 12 34 56 78 svp", "appelez-moi au [téléphone] svp"),
        ("mon num 0612345678", "mon num [téléphone]"),
        ("+33 6 12 34 56 78 ou 0033612345678", "[téléphone] ou [téléphone]"),
        ("call +44 20 7946 0958 or +1 415-555-2671", "call [téléphone] or [téléphone]"),
        ("fixe : 03.83.12.34.56", "fixe : [téléphone]"),
        ("mon numéro de sécu 1 85 05 78 006 084 36", "mon numéro de sécu [numéro]"),
        ("identifiant 1234567A", "identifiant 1234567A"),  # a short id with a letter: kept
        ("écrivez à fatou.diallo+cv@gmail.com", "écrivez à [e-mail]"),
        ("je suis @karim_b ou @karim:matrix.org", "je suis [pseudo] ou [pseudo]"),
        ("je m'appelle Karim Benali et j'habite à Nancy", "je m'appelle [nom] et j'habite à Nancy"),
        ("Bonjour, moi c'est Fatou, je cherche", "Bonjour, moi c'est [nom], je cherche"),
        ("jm'appel kevin jcherche du taf", "jm'appel [nom] jcherche du taf"),
        ("mon nom est Dupont", "mon nom est [nom]"),
        ("my name is John Smith from Leeds", "my name is [nom] from Leeds"),
        ("Mme Durand m'a dit de vous écrire", "Mme [nom] m'a dit de vous écrire"),
        ("j'ai 17 ans et j'habite 54000 Nancy", "j'ai 17 ans et j'habite 54000 Nancy"),
        ("je suis au RSA depuis 2019", "je suis au RSA depuis 2019"),
    ],
)  # fmt: skip
def test_personal_data_is_masked_and_the_rest_kept(typed: str, kept: str) -> None:
    assert mask_personal(typed) == kept


def test_masking_stays_linear_on_hostile_text() -> None:
    for text in ("je m'appelle " + "a" * 200_000, "1" * 200_000 + "a", "a." * 100_000):
        began = time.perf_counter()
        mask_personal(text)
        assert time.perf_counter() - began < 2.0


async def test_an_unanswered_question_is_stored_masked_and_shown_masked(
    person: Conversation,
) -> None:
    await person.say("bonjour")
    await person.say(f"{GIBBERISH}, je m'appelle {NAME} {SURNAME}, appelez le {PHONE} ou {EMAIL}")
    store = person.dispatcher.store
    [question] = await store.unanswered_questions()
    assert question["text"] == (
        f"{GIBBERISH}, je m'appelle [nom], appelez le [téléphone] ou [e-mail]"
    )
    await person.say("/mes_donnees")
    for secret in (NAME, SURNAME, PHONE, EMAIL):
        assert secret not in person.text


def test_stats_never_prints_terminal_escape_sequences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "a.db"
    hostile = f"{GIBBERISH} \x1b[2J\x1b]0;pwned\x07 \u009b31m \u202eevil\u202c \u200b end"

    async def write() -> None:
        async with Store.open(db) as store:
            await store.commit_turn(
                TurnRecord("test", "1", "k" * 32, {}, Turn([]),
                           unanswered=(Unanswered(hostile, None, None, "54"),))
            )  # fmt: skip

    asyncio.run(write())
    assert cli_main(["stats", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert cli_main(["stats", "--json", "--db", str(db)]) == 0
    as_json = capsys.readouterr().out
    for out in (shown, as_json):
        assert GIBBERISH in out
        for char in out:
            assert char in "\n" or char.isprintable(), repr(char)
    assert "\\x1b[2J" in shown and "\\u202e" in shown  # shown as visible escapes
    assert json.loads(as_json)["questions"][0]["text"] == hostile  # the same value in JSON
    assert printable("Lunéville 54300") == "Lunéville 54300"


# --- logs ------------------------------------------------------------------------------------


def _secrets() -> list[str]:
    return [NAME, SURNAME, PHONE, PHONE.replace(" ", ""), CALLBACK_PHONE, EMAIL, GIBBERISH]


def test_a_full_scripted_conversation_at_debug_logs_nothing_personal(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {tmp_path / 'var' / 'a.db'}\nlog_level: DEBUG\n")
    lines = [
        {"user": "u1", "text": "bonjour"},
        {"user": "u1", "text": f"{GIBBERISH} je m'appelle {NAME} {SURNAME}, {PHONE}, {EMAIL}"},
        {"user": "u1", "text": "je cherche du travail à Lunéville"},
        {"user": "u1", "choice": "sit:RSA"},
        {"user": "u1", "text": "je voudrais parler à un conseiller"},
        {"user": "u1", "choice": "human"},
        {"user": "u1", "choice": "cb:ask"},
        {"user": "u1", "choice": "cb:yes"},
        {"user": "u1", "text": CALLBACK_PHONE},
        {"user": "u1", "text": "/mes_donnees"},
        {"user": "u1", "text": "/oubli"},
    ]
    run = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--jsonl", "--config", str(config)],
        cwd=ROOT,
        input="\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUTF8": "1", "PYTHONASYNCIODEBUG": "1"},
    )
    assert run.returncode == 0, run.stderr
    replies = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(replies) == len(lines) and all("error" not in r for r in replies)
    assert "DEBUG bot.dispatcher" in run.stderr  # the run really logged at DEBUG
    for secret in _secrets():
        assert secret not in run.stderr


LIBRARIES = ("telegram", "telegram.ext", "httpx", "httpcore", "aiosqlite", "nio", "aiohttp")


@pytest.fixture
def debug_logs() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Root at DEBUG with two handlers: one as the CLI installs it, one raw (the control)."""
    root = logging.getLogger()
    filtered, raw = io.StringIO(), io.StringIO()
    private = logging.StreamHandler(filtered)
    control = logging.StreamHandler(raw)
    fmt = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    private.setFormatter(fmt)
    control.setFormatter(fmt)
    level = root.level
    root.setLevel(logging.DEBUG)
    # the CLI quiets some libraries; here every one logs at DEBUG, the worst case
    libraries = {name: logging.getLogger(name).level for name in LIBRARIES}
    for name in libraries:
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.addHandler(private)
    install_private_logging()  # on every root handler; the control handler is added after
    root.addHandler(control)
    try:
        yield filtered, raw
    finally:
        root.removeHandler(private)
        root.removeHandler(control)
        root.setLevel(level)
        for name, previous in libraries.items():
            logging.getLogger(name).setLevel(previous)
        for handler in root.handlers:
            for f in list(handler.filters):
                if isinstance(f, PrivateLogFilter):
                    handler.removeFilter(f)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_telegram_conversation_at_debug_logs_nothing_personal(
    tmp_path: Path,
    dialogue: OrientationDialogue,
    debug_logs: tuple[io.StringIO, io.StringIO],
) -> None:
    from tests.telegram_harness import telegram_bot

    filtered, raw = debug_logs
    async with telegram_bot(tmp_path, dialogue) as tg:
        await tg.say(4242, "bonjour")
        await tg.say(4242, f"{GIBBERISH} je m'appelle {NAME} {SURNAME}, {PHONE}, {EMAIL}")
        await tg.say(4242, "/mes_donnees")
    # python-telegram-bot logs every Bot API call with its parameters at DEBUG: without the
    # filter the texts are there (so this test would see a leak) …
    assert GIBBERISH in raw.getvalue()
    # … with it, no text, name or number, at any level
    for secret in _secrets():
        assert secret not in filtered.getvalue()
    logging.getLogger("aiosqlite").debug("executing %s", f"INSERT … {PHONE}")
    logging.getLogger("telegram.ext").warning("could not send %r", f"{PHONE} / {EMAIL}")
    logging.getLogger("bot.anything").error("failed for %s", f"{NAME} {PHONE}")
    assert PHONE not in filtered.getvalue() and EMAIL not in filtered.getvalue()
    assert "could not send" in filtered.getvalue()  # a library's warning still gets through
    assert "ERROR bot.anything: failed for" in filtered.getvalue()  # ours, masked
    assert "[numéro]" in filtered.getvalue() and "executing" not in filtered.getvalue()


# --- /oubli --------------------------------------------------------------------------------------


def _rows_about(db: Path, key: str) -> dict[str, int]:
    raw = sqlite3.connect(db)
    person = key[:12]
    counts = {
        "conversations": raw.execute("SELECT COUNT(*) FROM conversations WHERE key = ?", (key,)),
        "inbox": raw.execute("SELECT COUNT(*) FROM inbox WHERE key = ?", (key,)),
        "unanswered": raw.execute("SELECT COUNT(*) FROM unanswered WHERE key = ?", (key,)),
        "callbacks": raw.execute("SELECT COUNT(*) FROM callbacks WHERE key = ?", (key,)),
        "usage_events": raw.execute(
            "SELECT COUNT(*) FROM usage_events WHERE person = ?", (person,)
        ),
        "cursors": raw.execute("SELECT COUNT(*) FROM cursors WHERE instr(name, ?) > 0", (key,)),
    }
    out = {table: int(cursor.fetchone()[0]) for table, cursor in counts.items()}
    raw.close()
    return out


async def test_oubli_leaves_nothing_linkable_in_the_tables_nor_in_the_files(
    tmp_path: Path, dialogue: OrientationDialogue
) -> None:
    db = tmp_path / "var" / "a.db"
    async with Store.open(db) as store:
        dispatcher = Dispatcher(store, lambda: dialogue)
        ana, bob = Conversation(dispatcher, "ana"), Conversation(dispatcher, "bob")
        await bob.say("je cherche du travail à Nancy")
        await ana.say("bonjour")
        await ana.say(f"{GIBBERISH} je m'appelle {NAME} {SURNAME}")
        await ana.say("je cherche du travail à Lunéville")
        await ana.press("sit:RSA")
        await ana.press("human")  # a call-back is offered with a person's contact
        await ana.press("cb:ask")
        await ana.press("cb:yes")
        await ana.say(CALLBACK_PHONE)
        await ana.say("/mes_donnees")  # its reply holds the phone number, stored until sent
        key = store.key_for("test", "ana")
        await store.set_cursor(f"telegram:progress:{key}", "77:1")  # an adapter's progress row
        before = _rows_about(db, key)
        assert before["conversations"] == before["callbacks"] == before["unanswered"] == 1
        assert before["usage_events"] > 0 and before["cursors"] == 1
        on_disk = b"".join(p.read_bytes() for p in db.parent.glob("a.db*"))
        assert CALLBACK_PHONE.encode() in on_disk and GIBBERISH.encode() in on_disk

        await ana.say("/oubli")

        assert set(_rows_about(db, key).values()) == {0}
        for path in db.parent.glob("a.db*"):  # the database, its WAL and shared-memory files
            content = path.read_bytes()
            for secret in (GIBBERISH, CALLBACK_PHONE, "54329", key, key[:12]):
                assert secret.encode() not in content, (path.name, secret)
        # someone else's data is still there
        assert await store.load_state(store.key_for("test", "bob")) is not None
        summary = await store.usage_summary("2000-01-01")
        assert summary["personnes"] == 1  # only bob is counted now
