"""The store's contract and the dispatcher's promises: no event lost, none answered twice."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.dispatcher import Dispatcher, StepResult
from bot.messages import Choice, Incoming, Reply, StructureCard, Trace, Turn
from bot.store import MIGRATIONS, CallbackRequest, Store, TurnRecord, Unanswered, UsageEvent


class CountingDialogue:
    """A tiny dialogue: counts the messages of each person; can be told to crash."""

    def __init__(self) -> None:
        self.crash = False
        self.calls = 0

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        self.calls += 1
        if self.crash:
            raise RuntimeError("boom")
        count = int((state or {}).get("count", 0)) + 1
        card = StructureCard("s1", "Garage", "garage_solidaire", 1.5, latitude=48.7, longitude=6.2)
        reply = Reply(f"message {count}: {incoming.text}", (Choice("a", "A"),), (card,), venue=True)
        return StepResult(Turn([reply], Trace(need="information")), {"count": count})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply(str(data))

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("désolé")


ROOT = Path(__file__).resolve().parents[1]


def incoming(event: str, text: str = "salut", who: str = "alice") -> Incoming:
    return Incoming("test", who, event, text=text)


async def test_state_is_written_through_and_survives_reopening(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    dialogue = CountingDialogue()
    async with Store.open(db) as store:
        await Dispatcher(store, lambda: dialogue).handle(incoming("1"))
    async with Store.open(db) as store:
        turn = await Dispatcher(store, lambda: dialogue).handle(incoming("2"))
    assert turn.replies[0].text.startswith("message 2")


async def test_a_redelivered_event_is_not_answered_twice(store: Store) -> None:
    dialogue = CountingDialogue()
    dispatcher = Dispatcher(store, lambda: dialogue)
    first = await dispatcher.handle(incoming("7"))
    await dispatcher.confirm_sent(incoming("7"))
    again = await dispatcher.handle(incoming("7"))
    assert first.replies and again.replies == []
    assert dialogue.calls == 1


async def test_a_turn_computed_but_not_sent_is_returned_again(store: Store) -> None:
    dialogue = CountingDialogue()
    dispatcher = Dispatcher(store, lambda: dialogue)
    first = await dispatcher.handle(incoming("8"))
    # the process dies before the platform confirmed the send: the event comes back
    again = await dispatcher.handle(incoming("8"))
    assert again.replies == first.replies  # text, choices, cards and venue: all of it
    assert dialogue.calls == 1
    assert [event for event, _ in await store.unsent("test")] == ["8"]


async def test_a_crash_mid_turn_keeps_the_state_and_apologises(store: Store) -> None:
    dialogue = CountingDialogue()
    dispatcher = Dispatcher(store, lambda: dialogue)
    await dispatcher.handle(incoming("1"))
    dialogue.crash = True
    turn = await dispatcher.handle(incoming("2"))
    assert turn.replies[0].text == "désolé"
    dialogue.crash = False
    turn = await dispatcher.handle(incoming("3"))
    assert turn.replies[0].text.startswith("message 2")


async def test_one_conversation_is_serialised_others_run_concurrently(store: Store) -> None:
    dialogue = CountingDialogue()
    dispatcher = Dispatcher(store, lambda: dialogue)
    events = [incoming(f"{who}{n}", who=who) for n in range(20) for who in ("a", "b", "c")]
    turns = await asyncio.gather(*(dispatcher.handle(e) for e in events))
    counts: dict[str, list[int]] = {}
    for event, turn in zip(events, turns, strict=True):
        counts.setdefault(event.conversation, []).append(int(turn.replies[0].text.split()[1][:-1]))
    for numbers in counts.values():
        assert sorted(numbers) == list(range(1, 21))  # no lost update


async def test_platform_ids_are_never_stored_in_clear(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    async with Store.open(db) as store:
        dispatcher = Dispatcher(store, CountingDialogue)
        await dispatcher.handle(incoming("1", who="@alice:example.org"))
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "alice" not in dump


async def test_erase_removes_everything_about_one_person(store: Store) -> None:
    key = store.key_for("test", "bob")
    await store.commit_turn(
        TurnRecord(
            "test",
            "1",
            key,
            {"x": 1},
            Turn([Reply("ok")]),
            usage=(UsageEvent("turn"),),
            unanswered=(Unanswered("??", None, None, "54"),),
            callbacks=(CallbackRequest("06 00 00 00 00", None, None, None, None),),
        )
    )
    data = await store.personal_data(key)
    assert data["state"] == {"x": 1} and data["unanswered"] == ["??"] and data["callbacks"]
    await store.erase(key)
    data = await store.personal_data(key)
    assert data == {"state": None, "unanswered": [], "callbacks": []}


async def test_cursors_round_trip(store: Store) -> None:
    assert await store.get_cursor("telegram:offset") is None
    await store.set_cursor("telegram:offset", "41")
    await store.set_cursor("telegram:offset", "42")
    assert await store.get_cursor("telegram:offset") == "42"


async def test_migrations_are_versioned(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    async with Store.open(db):
        pass
    async with Store.open(db):
        pass
    version = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]
    assert version == len(MIGRATIONS)


async def test_usage_summary_counts_without_personal_data(store: Store) -> None:
    key = store.key_for("test", "carol")
    await store.commit_turn(
        TurnRecord(
            "test",
            "1",
            key,
            {},
            Turn([]),
            usage=(
                UsageEvent("turn"),
                UsageEvent(
                    "orientation", need="emploi_insertion", categorie="aci", referral="CD54-A"
                ),
            ),
        )
    )
    summary = await store.usage_summary("2000-01-01")
    assert summary["personnes"] == 1 and summary["messages"] == 1
    assert summary["par_categorie"] == {"aci": 1}
    assert summary["par_code"] == {"CD54-A": 1}


@pytest.mark.parametrize("status", ["nouveau", None])
async def test_callbacks_listing(store: Store, status: str | None) -> None:
    await store.commit_turn(
        TurnRecord(
            "test",
            "1",
            "k",
            {},
            Turn([]),
            callbacks=(CallbackRequest("06 11 22 33 44", None, "54395", "emploi_insertion", None),),
        )
    )
    rows = await store.callbacks(status)
    assert rows[0]["telephone"] == "06 11 22 33 44"
    assert await store.set_callback_status(rows[0]["id"], "traite")
    assert await store.callbacks("nouveau") == []


async def test_a_crash_is_logged_without_what_the_person_wrote(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    class Leaky(CountingDialogue):
        def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
            raise ValueError(f"cannot parse {incoming.text!r}")

    await Dispatcher(store, Leaky).handle(incoming("1", text="06 12 34 56 78 Karim"))
    assert "ValueError" in caplog.text
    assert "Karim" not in caplog.text and "06 12" not in caplog.text


async def test_prune_forgets_idle_conversations_and_old_inbox_rows(store: Store) -> None:
    key = store.key_for("test", "dave")
    await store.commit_turn(TurnRecord(
        "test", "1", key, {"x": 1}, Turn([]),
        unanswered=(Unanswered("??", None, None, "54"),),
        callbacks=(CallbackRequest("06 00 00 00 00", None, None, None, None),),
    ))  # fmt: skip
    assert await store.prune(now=time.time() + 3 * 24 * 3600) == 1  # only the inbox row
    assert (await store.personal_data(key))["state"] == {"x": 1}
    await store.prune(now=time.time() + 181 * 24 * 3600)
    assert await store.personal_data(key) == {"state": None, "unanswered": [], "callbacks": []}


# --- exactly once, through hard kills ---------------------------------------------------------


def _start_worker(db: Path) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.store_kill_worker", str(db)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
    return worker


def test_hard_kills_never_lose_nor_repeat_a_turn(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    people = ("ana", "bob", "chloe")
    events = [(f"{who}-{n}", who) for n in range(60) for who in people]
    rng = random.Random(11)
    answers: dict[str, set[str]] = {}
    for _ in range(4):  # each time: everything re-delivered, the process killed at a random point
        worker = _start_worker(db)
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write("".join(f"{e} {who} salut\n" for e, who in events))
        worker.stdin.flush()
        for _ in range(rng.randrange(20, len(events))):
            event, reply = worker.stdout.readline().rstrip("\n").split("\t")
            if reply:
                answers.setdefault(event, set()).add(reply)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    worker = _start_worker(db)  # the last run goes to the end
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write("".join(f"{e} {who} salut\n" for e, who in events))
    worker.stdin.close()
    for line in worker.stdout:
        event, reply = line.rstrip("\n").split("\t")
        if reply:
            answers.setdefault(event, set()).add(reply)
    assert worker.wait(30) == 0
    # every event answered, and only ever with one answer (re-deliveries got the same or nothing)
    assert set(answers) == {e for e, _ in events}
    assert all(len(replies) == 1 for replies in answers.values())
    for who in people:
        numbers = sorted(int(next(iter(answers[e])).split()[-1]) for e, w in events if w == who)
        assert numbers == list(range(1, 61))  # each event stepped exactly once, none lost
    state = sqlite3.connect(db).execute("SELECT COUNT(*) FROM inbox WHERE sent = 0").fetchone()
    assert state[0] == 0  # everything confirmed in the end


# --- event ids scoped per conversation and platform -------------------------------------------


async def test_colliding_event_ids_each_get_their_own_answer(store: Store) -> None:
    dialogue = CountingDialogue()
    dispatcher = Dispatcher(store, lambda: dialogue)
    await dispatcher.handle(incoming("x0", text="je suis Ana", who="ana"))
    ana = await dispatcher.handle(incoming("42", text="pour Ana", who="ana"))
    # not confirmed (a crash before the send): Ana's turn waits in the inbox under event 42
    bob = await dispatcher.handle(incoming("42", text="pour Bob", who="bob"))
    other_platform = await dispatcher.handle(Incoming("matrix", "ana", "42", text="pour Ana"))
    assert [r.text for r in bob.replies] == ["message 1: pour Bob"]  # never Ana's data
    assert [r.text for r in other_platform.replies] == ["message 1: pour Ana"]
    # each re-delivery gets back its own stored answer
    assert (await dispatcher.handle(incoming("42", who="ana"))).replies == ana.replies
    assert (await dispatcher.handle(incoming("42", who="bob"))).replies == bob.replies
    assert dialogue.calls == 4


async def test_a_turn_is_one_round_trip_to_the_database(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.dbthread import DatabaseThread

    round_trips: list[str] = []
    submit = DatabaseThread.submit

    def counting(self: DatabaseThread, fn: Any, **kw: Any) -> Any:
        round_trips.append("awaited")
        return submit(self, fn, **kw)

    monkeypatch.setattr(DatabaseThread, "submit", counting)
    dispatcher = Dispatcher(store, CountingDialogue)
    for n in range(5):
        await dispatcher.handle(incoming(str(n)))
        await dispatcher.confirm_sent(incoming(str(n)))  # queued, not awaited
    assert len(round_trips) == 5
    assert (await dispatcher.handle(incoming("0"))).replies == []  # the confirmations landed


async def test_a_database_of_the_first_schema_is_migrated_without_losing_anything(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.db"
    legacy = bytes(range(32))
    key = hmac.new(legacy, b"telegram:42", hashlib.sha256).hexdigest()[:32]
    raw = sqlite3.connect(db)
    raw.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    now = time.time()
    raw.executemany(
        "INSERT INTO settings VALUES (?, ?)", [("pseudonym_key", legacy.hex()), ("other", "1")]
    )
    raw.execute("INSERT INTO conversations VALUES (?, '{\"count\": 3}', ?, ?)", (key, now, now))
    unsent = Turn([Reply("pas encore envoyé")]).to_storage()
    raw.executemany(
        "INSERT INTO inbox VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("telegram", "100", key, now, json.dumps(unsent), 0),
            ("telegram", "99", key, now, None, 1),
            ("telegram", "98", None, now, None, 1),  # unlinked from an erased person
        ],
    )
    raw.execute(
        "INSERT INTO usage_events (at, day, platform, person, kind) VALUES (?, ?, ?, ?, ?)",
        (now, "2026-01-01", "telegram", key[:12], "turn"),
    )
    raw.execute(
        "INSERT INTO unanswered (at, key, text) VALUES (?, ?, ?)",
        (now, key, "xqzw je m'appelle Karim, 06 12 34 56 78"),
    )
    raw.commit()
    raw.close()

    async with Store.open(db) as store:
        assert store.key_for("telegram", "42") == key
        dispatcher = Dispatcher(store, CountingDialogue)
        redelivered = await dispatcher.handle(Incoming("telegram", "42", "100", text="x"))
        assert [r.text for r in redelivered.replies] == ["pas encore envoyé"]
        assert (await dispatcher.handle(Incoming("telegram", "42", "99", text="x"))).replies == []
        turn = await dispatcher.handle(Incoming("telegram", "42", "101", text="x"))
        assert turn.replies[0].text == "message 4: x"
        [question] = await store.unanswered_questions()
        assert question["text"] == "xqzw je m'appelle [nom], [téléphone]"
        assert (await store.usage_summary("2000-01-01"))["personnes"] == 1
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert raw.execute("SELECT COUNT(*) FROM inbox WHERE event_id = '98'").fetchone()[0] == 0
    assert raw.execute("SELECT name FROM settings").fetchall() == [("other",)]
    for path in tmp_path.glob("a.db*"):
        assert b"06 12 34 56 78" not in path.read_bytes()


async def test_jobs_sharing_a_transaction_fail_alone(store: Store) -> None:
    def broken(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO cursors VALUES ('half-done', 'x', 0)")
        raise RuntimeError("a bug in one job")

    results = await asyncio.gather(
        store.set_cursor("before", "1"),
        store.run(broken),
        store.set_cursor("after", "2"),
        return_exceptions=True,
    )
    assert isinstance(results[1], RuntimeError)
    assert await store.get_cursor("before") == "1" and await store.get_cursor("after") == "2"
    assert await store.get_cursor("half-done") is None  # its own writes were rolled back


async def test_an_answered_event_is_forgotten_with_the_next_write_or_at_close(
    tmp_path: Path,
) -> None:
    """Telegram's kept updates are forgotten without a database round trip of their own."""
    async with Store.open(tmp_path / "a.db") as store:
        await store.receive("telegram:1", [("1:5", "{}"), ("1:6", "{}")], [("offset", "7")])
        store.answered_soon("telegram:1", "1:5")
        assert [e for e, _ in await store.received("telegram:1")] == ["1:6"]  # the next job
        store.answered_soon("telegram:1", "1:6")
    async with Store.open(tmp_path / "a.db") as store:  # written when the store closed
        assert await store.received("telegram:1") == []
