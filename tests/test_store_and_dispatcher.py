"""The store's contract and the dispatcher's promises: no event lost, none answered twice."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from bot.dispatcher import Dispatcher, StepResult
from bot.messages import Choice, Incoming, Reply, Trace, Turn
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
        reply = Reply(f"message {count}: {incoming.text}", (Choice("a", "A"),))
        return StepResult(Turn([reply], Trace(need="information")), {"count": count})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply(str(data))

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("désolé")


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
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
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
