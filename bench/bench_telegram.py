"""Turn latency through the Telegram adapter and the local Bot API server (tests/telegram_server).

The adapter runs in-process with PTB's real HTTP stack (AIORateLimiter included) against the
local server on 127.0.0.1. Latency is measured from the moment an update is put in the server's
queue to the moment the server accepts the bot's (last) reply to it: long poll wake-up,
getUpdates, dispatcher (SQLite write), sendMessage(s), confirm.

- sequential: one person, one message at a time (the latency a beneficiary feels);
- burst: many people writing at once (queueing under Telegram's ~30 messages/s overall limit,
  which AIORateLimiter enforces).

    python -m bench.bench_telegram [--turns 200] [--users 20] [--per-user 5] [--real]

`--real` uses the real dialogue and shipped knowledge base instead of the echo stand-in.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.dispatcher import Dialogue
from tests.telegram_harness import EchoDialogue, telegram_bot

REAL_SCRIPT = ["bonjour", "je cherche du boulot à Nancy", "c'est quoi une CAE ?",
               "ma voiture est en panne", "/mes_donnees"]  # fmt: skip


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name}: n={len(samples)} median={statistics.median(samples) * 1000:.1f} ms "
        f"p99={p99 * 1000:.1f} ms max={ordered[-1] * 1000:.1f} ms"
    )


async def replies_done(tg: Any, update_id: int) -> float:
    await tg.server.wait_confirmed(update_id, timeout=120)
    return time.perf_counter()


async def sequential(tg: Any, turns: int, texts: list[str]) -> list[float]:
    samples = []
    chat = 1
    for n in range(turns):
        before = len(tg.server.sent[chat])
        start = time.perf_counter()
        await tg.server.send_text(chat, texts[n % len(texts)])
        # the turn is over when the bot confirms it (after its last reply was accepted)
        await tg.server.wait_for(lambda: len(tg.server.sent[chat]) > before, 30)
        update_id = max(u["update_id"] for u in tg.server.updates)
        await tg.server.wait_confirmed(update_id, 30)
        samples.append(time.perf_counter() - start)
    return samples


async def burst(tg: Any, users: int, per_user: int, texts: list[str]) -> tuple[list[float], float]:
    injected: dict[int, float] = {}
    started = time.perf_counter()
    for k in range(per_user):
        for user in range(users):
            update_id = await tg.server.send_text(100 + user, texts[k % len(texts)])
            injected[update_id] = time.perf_counter()
    answered: dict[int, float] = {}
    pending = sorted(injected)

    def progress() -> bool:
        while pending and tg.server.confirmed > pending[0]:
            answered[pending.pop(0)] = time.perf_counter()
        return not pending

    await tg.server.wait_for(progress, 300)
    total = time.perf_counter() - started
    return [answered[u] - injected[u] for u in injected], total


async def main(args: argparse.Namespace) -> None:
    dialogue: Dialogue
    texts: list[str]
    if args.real:
        from bot.app import load_static
        from bot.config import Config
        from bot.dialogue import OrientationDialogue

        config = Config()
        gazetteer, knowledge = load_static(config)
        dialogue = OrientationDialogue(knowledge, gazetteer, config.dialogue, config.departement)
        texts = REAL_SCRIPT
    else:
        dialogue, texts = EchoDialogue(), ["bonjour", "je cherche un garage", "merci"]
    with tempfile.TemporaryDirectory() as tmp:
        async with telegram_bot(Path(tmp), dialogue) as tg:
            await tg.server.send_text(1, "échauffement")
            await tg.replies(1)
            print(summary("sequential turn latency", await sequential(tg, args.turns, texts)))
            samples, total = await burst(tg, args.users, args.per_user, texts)
            messages = args.users * args.per_user
            print(summary(f"burst {args.users} users x {args.per_user}", samples))
            print(f"burst throughput: {messages / total:.1f} turns/s ({total:.2f} s)")
            print(f"max messages to one chat within 1 s: {max(tg.server.rate_report().values())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--real", action="store_true")
    asyncio.run(main(parser.parse_args()))
