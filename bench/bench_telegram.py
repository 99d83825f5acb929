"""Turn latency through the Telegram adapter and the local Bot API server (tests/telegram_server).

The adapter runs in-process with PTB's real HTTP stack (AIORateLimiter included) against the
local server on 127.0.0.1. Latency is measured from the moment an update is put in the server's
queue to the moment the server accepts the bot's (last) reply to it: long poll wake-up,
getUpdates, dispatcher (SQLite write), sendMessage(s), confirm.

- sequential: one person, one message at a time (the latency a beneficiary feels);
- burst (echo dialogue only): many people writing at once (queueing under Telegram's ~30
  messages/s overall limit, which AIORateLimiter enforces).

    python -m bench.bench_telegram [--turns 200] [--gap 0.05] [--users 20] [--per-user 5] [--real]

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


async def sequential(tg: Any, turns: int, texts: list[str], gap: float) -> list[float]:
    """One person; a pause between turns keeps the overall rate limiter out of the figure."""
    samples = []
    chat = 1
    for n in range(turns):
        start = time.perf_counter()
        update_id = await tg.server.send_text(chat, texts[n % len(texts)])
        # the turn is over when the bot confirms it, i.e. after its last reply was accepted
        await tg.server.wait_confirmed(update_id, 30)
        samples.append(time.perf_counter() - start)
        await asyncio.sleep(gap)
    return samples


async def burst(tg: Any, users: int, per_user: int, texts: list[str]) -> tuple[list[float], float]:
    """Everyone writes at once; latency = injection → the server accepts that turn's reply.

    Needs one reply message per turn (the echo dialogue): the k-th reply in a chat answers the
    k-th message of that chat."""
    injected: dict[int, list[float]] = {}
    chats = [100 + user for user in range(users)]
    already = {chat: len(tg.server.sent[chat]) for chat in chats}
    started = time.time()
    last = 0
    for k in range(per_user):
        for chat in chats:
            last = await tg.server.send_text(chat, texts[k % len(texts)])
            injected.setdefault(chat, []).append(time.time())
    await tg.server.wait_confirmed(last, 300)
    total = time.time() - started
    samples = []
    for chat in chats:
        sent = tg.server.sent[chat][already[chat] :]
        assert len(sent) == per_user, "one reply per turn expected"
        samples += [reply.at - at for reply, at in zip(sent, injected[chat], strict=True)]
    return samples, total


async def main(args: argparse.Namespace) -> None:
    dialogue: Dialogue
    texts: list[str]
    if args.real:
        from bot.app import load_static
        from bot.config import Config
        from bot.conversation.dialogue import OrientationDialogue

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
            samples = await sequential(tg, args.turns, texts, args.gap)
            print(summary("sequential turn latency", samples))
            if not args.real:
                samples, total = await burst(tg, args.users, args.per_user, texts)
                messages = args.users * args.per_user
                print(summary(f"burst {args.users} users x {args.per_user}", samples))
                print(f"burst throughput: {messages / total:.1f} turns/s ({total:.2f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--per-user", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.05, help="pause between turns (s)")
    parser.add_argument("--real", action="store_true")
    asyncio.run(main(parser.parse_args()))
