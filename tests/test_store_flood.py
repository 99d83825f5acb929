"""Flood control: a person writing dozens of messages a second is slowed politely and told once;
someone writing at the same time is not slowed at all."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.dispatcher import Dispatcher, StepResult
from bot.flood import NOTICE, FloodControl, FloodPolicy, Verdict
from bot.messages import Incoming, Reply, Turn
from bot.store import Store


class CountingDialogue:
    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        count = int((state or {}).get("count", 0)) + 1
        return StepResult(Turn([Reply(f"message {count}")]), {"count": count})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply(str(data))

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("désolé")


POLICY = FloodPolicy(burst=5, per_second=10, max_delay_s=1.0, notice_after_s=0.2)


def test_a_burst_goes_through_then_messages_wait_then_are_not_read() -> None:
    flood = FloodControl(POLICY)
    verdicts = [flood.admit("telegram", "k", now=100.0) for _ in range(30)]
    assert [v.verdict for v in verdicts[:5]] == [Verdict.NOW] * 5
    delayed = [v for v in verdicts if v.verdict is Verdict.DELAYED]
    assert len(delayed) == 10  # one second of waiting at ten a second
    assert [v.start_at for v in delayed] == sorted(v.start_at for v in delayed)  # in order
    assert max(v.start_at for v in delayed) - 100.0 <= POLICY.max_delay_s
    assert all(v.verdict is Verdict.NOT_READ for v in verdicts[15:])
    assert sum(v.notify for v in verdicts) == 1  # told once
    assert verdicts[7].notify  # at the first wait of 0.2 s or more


def test_the_flood_ends_when_the_person_slows_down_and_they_are_told_again_next_time() -> None:
    flood = FloodControl(POLICY)
    first = [flood.admit("matrix", "k", now=0.0) for _ in range(20)]
    assert sum(v.notify for v in first) == 1
    calm = [flood.admit("matrix", "k", now=10.0 + n) for n in range(5)]  # one a second
    assert all(v.verdict is Verdict.NOW and not v.notify for v in calm)
    again = [flood.admit("matrix", "k", now=30.0) for _ in range(20)]
    assert sum(v.notify for v in again) == 1


def test_people_have_their_own_bucket_and_the_console_is_exempt() -> None:
    flood = FloodControl(POLICY)
    for _ in range(50):
        flood.admit("telegram", "flooder", now=5.0)
    assert flood.admit("telegram", "someone else", now=5.0).verdict is Verdict.NOW
    assert all(flood.admit("console", "script", now=5.0).verdict is Verdict.NOW for _ in range(100))


async def test_re_deliveries_after_a_restart_do_not_count_as_writing_fast(store: Store) -> None:
    dispatcher = Dispatcher(store, CountingDialogue, flood=FloodControl(POLICY))
    events = [Incoming("telegram", "ana", f"e{n}", text="salut") for n in range(4)]
    for incoming in events:
        await dispatcher.handle(incoming)
    for _ in range(5):  # the platform sends the same events again and again
        for incoming in events:
            assert (await dispatcher.handle(incoming)).replies[0].text.startswith("message")
    fresh = await dispatcher.handle(Incoming("telegram", "ana", "e9", text="salut"))
    assert [r.text for r in fresh.replies] == ["message 5"]  # neither delayed nor told


def test_memory_holds_only_people_who_are_still_flooding() -> None:
    flood = FloodControl(POLICY)
    for n in range(5000):
        flood.admit("telegram", f"person {n}", now=float(n))  # one message each, long ago
    assert len(flood) < 2100


async def test_a_flooding_person_is_slowed_and_told_once_while_another_is_not_slowed(
    store: Store,
) -> None:
    dispatcher = Dispatcher(store, CountingDialogue, flood=FloodControl(POLICY))
    flooder = [Incoming("telegram", "script", f"f{n}", text=f"spam {n}") for n in range(40)]

    async def flood() -> list[tuple[float, Turn]]:
        async def one(incoming: Incoming) -> tuple[float, Turn]:
            turn = await dispatcher.handle(incoming)
            return time.monotonic(), turn

        return await asyncio.gather(*(one(i) for i in flooder))

    async def normal_person() -> list[tuple[float, Turn]]:
        answered = []
        for n in range(5):
            await asyncio.sleep(0.15)
            began = time.monotonic()
            turn = await dispatcher.handle(Incoming("telegram", "alice", f"a{n}", text="bonjour"))
            answered.append((time.monotonic() - began, turn))
        return answered

    began = time.monotonic()
    flooded, normal = await asyncio.gather(flood(), normal_person())

    # the other person: every message answered at once, in order, never told anything
    assert [t.replies[0].text for _, t in normal] == [f"message {n}" for n in range(1, 6)]
    assert max(waited for waited, _ in normal) < 0.3
    assert all(NOTICE not in r.text for _, t in normal for r in t.replies)

    # the flooder: the burst at once, then slowed (answered later), then not read, told once
    texts = [[r.text for r in t.replies] for _, t in flooded]
    answered = [t for t in texts if any(x.startswith("message") for x in t)]
    assert [next(x for x in t if x.startswith("message")) for t in answered] == [
        f"message {n}" for n in range(1, 16)
    ]  # in order, no lost update
    assert sum(NOTICE in t for t in texts) == 1
    assert texts[20:] == [[]] * 20  # not read and not answered
    waits = [at - began for at, _ in flooded]
    assert max(waits[:5]) < 0.5 and waits[14] >= 0.8  # the 15th waited for its slot
    assert (await store.load_state(store.key_for("telegram", "script"))) == {"count": 15}

    # a not-read event re-delivered is not read again nor answered twice
    assert (await dispatcher.handle(flooder[30])).replies == []
    summary = await store.usage_summary("2000-01-01")
    assert summary["par_type"].get("trop_vite") == 1
