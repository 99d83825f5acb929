"""Turn latency and throughput: the JSON-lines mode, and in one process with many people.

Default mode: runs `python -m bot chat --jsonl` as a real subprocess on a knowledge base (the
shipped one, or a national-scale one from bench/national_kb.py) with the full gazetteer, then:
- start-up: time until the first reply to a first message, and the process's peak RSS;
- latency: one line written, its reply read, over a long scripted session (median, p99);
- throughput: all lines written at once, turns per second until the last reply.

`--inprocess`: the dispatcher and a real SQLite file in this process, no adapter, for the
**floor** (a bare echo dialogue over the same store and the same dispatcher, flood control
included as the bot wires it) and for the **real dialogue**, in the same run:
- sequential: one person at a time, one turn after the other (median, p99 of a turn);
- saturation: `--people` conversations (1,000 by default) all writing their scripted session
  at once, each sending its next message as soon as it has the answer: turns/s at capacity;
- open loop: the same people each writing one message every `people / rate` seconds (so
  `--rate` turns/s offered in total, 1,000 by default): achieved turns/s, median and p99 from
  the moment a message "arrives" to its answer, and CPU per turn;
and the ratio real / floor of each.

    python -m bench.bench_turns [--knowledge DIR] [--national] [--users 100]
    python -m bench.bench_turns --inprocess [--national] [--people 1000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_KNOWLEDGE, DialogueSettings
from bot.dispatcher import Dialogue, Dispatcher, StepResult
from bot.flood import FloodControl
from bot.messages import Choice, Incoming, Reply, Turn
from bot.store import Store

SCRIPT = [
    {"text": "bonjour"},
    {"text": "je cherche du boulot"},
    {"text": "{town}"},
    {"choice": "sit:RSA"},
    {"choice": "more"},
    {"text": "c'est quoi une CAE ?"},
    {"text": "ma voiture est en panne"},
    {"text": "jcherche une auto ecole solidaire"},
    {"text": "j'ai 17 ans je veux faire une cjs"},
    {"text": "/mes_donnees"},
    {"text": "xqzw blorp"},
    {"text": "/recommencer"},
]
TOWNS = [
    "Nancy",
    "Lunéville",
    "Nevers",
    "Charleville-Mézières",
    "Saint-Denis 93",
    "Beauvais",
    "Toulouse",
    "Lille",
    "Rennes",
    "Lyon",
    "Marseille",
    "Brest",
    "Metz",
    "Pau",
]


def session(users: int) -> list[str]:
    lines = []
    for step in SCRIPT:
        for u in range(users):
            item = {
                k: (v.format(town=TOWNS[u % len(TOWNS)]) if isinstance(v, str) else v)
                for k, v in step.items()
            }
            lines.append(json.dumps({"user": f"u{u}", **item}, ensure_ascii=False))
    return lines


def start(knowledge: Path, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "chat",
            "--jsonl",
            "--knowledge",
            str(knowledge),
            "--db",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(knowledge: Path, users: int) -> dict[str, float]:
    lines = session(users)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        proc = start(knowledge, Path(tmp) / "latency.db")
        assert proc.stdin and proc.stdout
        proc.stdin.write(json.dumps({"user": "warm", "text": "bonjour"}) + "\n")
        proc.stdout.readline()
        startup = time.perf_counter() - began
        latencies = []
        for line in lines:
            t0 = time.perf_counter()
            proc.stdin.write(line + "\n")
            reply = proc.stdout.readline()
            latencies.append((time.perf_counter() - t0) * 1000)
            assert reply.startswith("{") and '"error"' not in reply[:12], reply
        rss = peak_rss_mb(proc.pid)
        proc.stdin.close()
        proc.wait(timeout=30)

        proc = start(knowledge, Path(tmp) / "throughput.db")
        assert proc.stdin and proc.stdout
        proc.stdin.write(json.dumps({"user": "warm", "text": "bonjour"}) + "\n")
        proc.stdout.readline()
        t0 = time.perf_counter()
        proc.stdin.write("\n".join(lines) + "\n")
        proc.stdin.flush()
        for _ in lines:
            proc.stdout.readline()
        elapsed = time.perf_counter() - t0
        proc.stdin.close()
        proc.wait(timeout=30)
    latencies.sort()
    return {
        "turns": len(lines),
        "startup_s": round(startup, 2),
        "latency_median_ms": round(statistics.median(latencies), 2),
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "latency_max_ms": round(latencies[-1], 2),
        "turns_per_s": round(len(lines) / elapsed, 1),
        "peak_rss_mb": round(rss, 1),
    }


# --- in one process ------------------------------------------------------------------------------


class EchoDialogue:
    """The floor: what any dialogue costs at least (state read and written, one reply)."""

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        count = int((state or {}).get("n", 0)) + 1
        reply = Reply(f"echo {count}", (Choice("menu", "Menu"),))
        return StepResult(Turn([reply]), {"n": count})

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply("données")

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("désolé")


def incoming_for(person: int, step: int, event: str) -> Incoming:
    item = SCRIPT[step % len(SCRIPT)]
    fields = {
        k: (v.format(town=TOWNS[person % len(TOWNS)]) if isinstance(v, str) else v)
        for k, v in item.items()
    }
    return Incoming("bench", f"p{person}", event, **fields)  # type: ignore[arg-type]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))]


def _summary(latencies: list[float], elapsed: float, cpu: float) -> dict[str, float]:
    return {
        "turns": len(latencies),
        "turns_per_s": round(len(latencies) / elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2),
        "cpu_ms_per_turn": round(cpu / len(latencies) * 1000, 3),
    }


async def _turn(dispatcher: Dispatcher, incoming: Incoming) -> None:
    turn = await dispatcher.handle(incoming)
    assert turn.replies, "every scripted message is answered"
    await dispatcher.confirm_sent(incoming)


async def sequential(dispatcher: Dispatcher, people: int) -> dict[str, float]:
    latencies = []
    began, cpu = time.perf_counter(), time.process_time()
    for step in range(len(SCRIPT)):
        for person in range(people):
            t0 = time.perf_counter()
            await _turn(dispatcher, incoming_for(person, step, f"s{person}-{step}"))
            latencies.append(time.perf_counter() - t0)
    return _summary(latencies, time.perf_counter() - began, time.process_time() - cpu)


async def saturation(dispatcher: Dispatcher, people: int) -> dict[str, float]:
    latencies: list[float] = []

    async def person(number: int) -> None:
        for step in range(len(SCRIPT)):
            t0 = time.perf_counter()
            await _turn(dispatcher, incoming_for(number, step, f"c{number}-{step}"))
            latencies.append(time.perf_counter() - t0)

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(person(n) for n in range(people)))
    return _summary(latencies, time.perf_counter() - began, time.process_time() - cpu)


async def open_loop(dispatcher: Dispatcher, people: int, rate: float) -> dict[str, float]:
    """Each person writes every `people / rate` s (random phase): `rate` turns/s offered."""
    period = people / rate
    rng = random.Random(3)
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5

    async def person(number: int, phase: float) -> None:
        for step in range(len(SCRIPT)):
            arrives = start + phase + step * period
            await asyncio.sleep(max(0.0, arrives - loop.time()))
            await _turn(dispatcher, incoming_for(number, step, f"o{number}-{step}"))
            latencies.append(max(0.0, loop.time() - arrives))

    cpu = time.process_time()
    await asyncio.gather(*(person(n, rng.uniform(0, period)) for n in range(people)))
    elapsed = loop.time() - start
    return _summary(latencies, elapsed, time.process_time() - cpu)


async def measure_inprocess(
    knowledge: Path, people: int, rate: float, sequential_people: int
) -> dict[str, Any]:
    from bot.app import load_static
    from bot.config import Config
    from bot.conversation.dialogue import OrientationDialogue
    from bot.kb.cache import paused_gc

    with paused_gc():  # as the bot builds them (bot/app.py): then frozen, out of the GC's sight
        gazetteer, kb = load_static(Config(knowledge=knowledge))
        real = OrientationDialogue(kb, gazetteer, DialogueSettings(), "54")
    dialogues: dict[str, Dialogue] = {"floor": EchoDialogue(), "real": real}
    runs: dict[str, Callable[[Dispatcher], Awaitable[dict[str, float]]]] = {
        "sequential": lambda d: sequential(d, sequential_people),
        f"saturation_{people}_people": lambda d: saturation(d, people),
        f"open_loop_{people}_people_{rate:g}_per_s": lambda d: open_loop(d, people, rate),
    }
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for run, measure_run in runs.items():
            for name, dialogue in dialogues.items():
                db = Path(tmp) / f"{run}-{name}.db"
                async with Store.open(db) as store:
                    dispatcher = Dispatcher(store, lambda d=dialogue: d, flood=FloodControl())
                    await _turn(dispatcher, incoming_for(0, 0, "warm-up"))
                    results.setdefault(run, {})[name] = await measure_run(dispatcher)
            floor, actual = results[run]["floor"], results[run]["real"]
            results[run]["ratio_real_to_floor"] = {
                "turns_per_s": round(actual["turns_per_s"] / floor["turns_per_s"], 2),
                "median": round(actual["median_ms"] / max(floor["median_ms"], 1e-6), 2),
                "p99": round(actual["p99_ms"] / max(floor["p99_ms"], 1e-6), 2),
                "cpu_per_turn": round(actual["cpu_ms_per_turn"] / floor["cpu_ms_per_turn"], 2),
            }
            print(run, json.dumps(results[run]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_KNOWLEDGE)
    parser.add_argument(
        "--national", action="store_true", help="generate and use a national-scale knowledge base"
    )
    parser.add_argument("--per-departement", type=int, default=200)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--inprocess", action="store_true", help="dispatcher + SQLite, no adapter")
    parser.add_argument("--people", type=int, default=1000, help="--inprocess: conversations")
    parser.add_argument("--rate", type=float, default=1000.0, help="--inprocess: turns/s offered")
    parser.add_argument(
        "--sequential-people", type=int, default=100, help="--inprocess: people, one at a time"
    )
    args = parser.parse_args()
    knowledge = args.knowledge
    if args.national:
        from bench.national_kb import generate

        knowledge = Path(tempfile.mkdtemp()) / "knowledge"
        total = generate(knowledge, args.per_departement, seed=1)
        print(f"national knowledge base: {total} services")
    if args.inprocess:
        results = asyncio.run(
            measure_inprocess(knowledge, args.people, args.rate, args.sequential_people)
        )
        print(json.dumps(results, indent=2))
        return
    print(json.dumps(measure(knowledge, args.users), indent=2))


if __name__ == "__main__":
    main()
