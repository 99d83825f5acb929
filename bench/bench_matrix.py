"""Round-trip latency through a real Synapse: the Aiguillage bot vs a bare nio echo client.

    .venv/bin/python bench/bench_matrix.py [--messages 40] [--warmup 5] [--json]

Starts its own Synapse (installed by `scripts/synapse.sh install`) on a free loopback port,
unless AIGUILLAGE_SYNAPSE_URL points at a running one. One beneficiary (a real nio client) has
a DM with each responder and sends one message at a time, waiting for the first answer; the
latency is from `room_send` to the answer arriving in its sync. Both responders run in this
process, on the same server, in the same run. The bot runs the real core (knowledge base
shipped in knowledge/).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters import matrix as mx  # noqa: E402
from adapters.base import AdapterContext  # noqa: E402
from bot.app import open_app  # noqa: E402
from bot.config import Config  # noqa: E402
from tests.synapse_fixture import Person, Synapse, person, synapse_server  # noqa: E402

TEXTS = ("bonjour", "je cherche un emploi", "Nancy", "c'est quoi une EI ?", "merci", "/aide")


async def echo_client(synapse: Synapse, stop: asyncio.Event) -> tuple[str, asyncio.Task[None]]:
    user_id, password = synapse.register("echo")
    client = nio.AsyncClient(synapse.url, user_id)
    await client.login(password)
    await client.sync(timeout=0)

    async def on_invite(room: nio.MatrixRoom, event: nio.InviteMemberEvent) -> None:
        if event.state_key == user_id:
            await client.join(room.room_id)

    async def on_message(room: nio.MatrixRoom, event: nio.RoomMessageText) -> None:
        if event.sender != user_id:
            content = {"msgtype": "m.text", "body": "echo: " + event.body}
            await client.room_send(room.room_id, "m.room.message", content)

    client.add_event_callback(on_invite, nio.InviteMemberEvent)
    client.add_event_callback(on_message, nio.RoomMessageText)

    async def run() -> None:
        task = asyncio.create_task(client.sync_forever(timeout=30000))
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()

    return user_id, asyncio.create_task(run())


async def once(ben: Person, room: str, text: str) -> float:
    """Milliseconds from sending `text` to the first answer arriving."""
    before = len(ben.replies(room))
    start = time.monotonic()
    await ben.say(room, text)
    got = await ben.wait_replies(room, before + 1, timeout=30)
    await asyncio.sleep(0.3)  # let multi-message answers finish before the next question
    return (got[before].at - start) * 1000


async def measure(pairs: list[tuple[Person, str]], n: int, warmup: int) -> list[list[float]]:
    """Interleaved (echo, bot, echo, bot…) so that server warm-up and noise hit both alike."""
    samples: list[list[float]] = [[] for _ in pairs]
    for i in range(n + warmup):
        for k, (ben, room) in enumerate(pairs):
            ms = await once(ben, room, f"{TEXTS[i % len(TEXTS)]} {i}")
            if i >= warmup:
                samples[k].append(ms)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(samples), "median_ms": round(statistics.median(samples), 1),
            "p99_ms": round(p99, 1), "max_ms": round(ordered[-1], 1)}  # fmt: skip


async def run(synapse: Synapse, messages: int, warmup: int) -> dict[str, Any]:
    stop = asyncio.Event()
    echo_id, echo_task = await echo_client(synapse, stop)
    bot_id, password = synapse.register("bot")
    import os

    os.environ["BENCH_BOT_PW"] = password
    with tempfile.TemporaryDirectory() as tmp:
        async with open_app(Config(database=Path(tmp) / "a.db")) as app:
            settings = {
                "homeserver": synapse.url,
                "user_id": bot_id,
                "password_env": "BENCH_BOT_PW",
            }
            adapter = mx.create(AdapterContext(app.dispatcher, app.store, settings, tmp))
            bot_task = asyncio.create_task(adapter.run(stop))
            await asyncio.wait_for(adapter.ready.wait(), 60)
            async with person(synapse, echo_id) as ben_echo, person(synapse, bot_id) as ben_bot:
                echo_room = await ben_echo.dm()
                bot_room = await ben_bot.dm()
                await ben_bot.wait_replies(bot_room, 1)
                await asyncio.sleep(0.5)
                pairs = [(ben_echo, echo_room), (ben_bot, bot_room)]
                echo, bot = await measure(pairs, messages, warmup)
            stop.set()
            await asyncio.gather(bot_task, echo_task)
    overhead = summary(bot)["median_ms"] - summary(echo)["median_ms"]
    return {
        "echo": summary(echo),
        "bot": summary(bot),
        "bot_overhead_median_ms": round(overhead, 1),
        "encryption": adapter.encryption,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    gen = synapse_server.__wrapped__()  # type: ignore[attr-defined]
    synapse = next(gen)
    try:
        result = asyncio.run(run(synapse, args.messages, args.warmup))
    finally:
        with contextlib.suppress(StopIteration):
            next(gen)
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("echo", "bot"):
            r = result[name]
            print(f"{name:5} n={r['n']} median {r['median_ms']} ms  p99 {r['p99_ms']} ms  "
                  f"max {r['max_ms']} ms")  # fmt: skip
        print(f"bot overhead (median): {result['bot_overhead_median_ms']} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
