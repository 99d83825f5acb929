"""Hostile input does not freeze the bot: turn latency for hostile versus clean messages.

Two paths, each with the real dialogue on the shipped knowledge base and a real SQLite file:
- in process: `adapters.base.bounded` (what every adapter does) then `Dispatcher.handle`;
- the JSON-lines mode: a real `python -m bot chat --jsonl` subprocess, one line written and its
  answer read, so the time includes reading, decoding and parsing the line.

Hostile kinds: 1 MB and 65 kB messages (one Matrix event), runs of spaces and digits, control
characters and lone surrogates, markup and injection attempts, choice ids never offered, and for
JSON lines also invalid UTF-8, nesting 1,000 deep, a 4,300-digit number, a huge latitude.
The target (issue 10): hostile p99 within 10× the clean p99.

    python -m bench.bench_hostile [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adapters.base import bounded
from bot.config import DEFAULT_KNOWLEDGE, DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.kb.loader import load_knowledge
from bot.messages import Incoming
from bot.places import Gazetteer
from bot.store import Store

CLEAN = [
    {"text": "bonjour"},
    {"text": "je cherche du boulot"},
    {"text": "Nancy"},
    {"text": "je suis au RSA"},
    {"text": "c'est quoi une CAE ?"},
    {"text": "ma voiture est en panne"},
    {"text": "/mes_donnees"},
    {"text": "/recommencer"},
]
HOSTILE: dict[str, dict[str, str]] = {
    "1 MB text": {"text": "jcherche du taf a nancy " * 43_700},
    "65 kB text (one Matrix event)": {"text": "é" * 65_000},
    "4,000 spaces then 1": {"text": " " * 3_999 + "1"},
    "digits": {"text": "1" * 4_000},
    "controls and surrogates": {"text": "\x00\x1b[2J\ud800\u202e\u2028" * 700},
    "markup and injection": {"text": "<script>x</script>'; DROP TABLE x; --{{7*7}}" * 90},
    "choice never offered": {"choice": "sit:" + "x" * 250},
}
# In process only: what the dialogue costs when nothing bounds its input (for its own figure).
UNBOUNDED: dict[str, dict[str, str]] = {
    "65 kB text, no boundary (the dialogue alone)": {"text": "le 1 " * 13_000},
}
RAW_LINES: dict[str, bytes] = {
    "invalid UTF-8": b'{"user": "h", "text": "caf\xe9 \xff\xfe"}',
    "nested 1,000 deep": b"[" * 1_000 + b"]" * 1_000,
    "4,300-digit number": b'{"user": "h", "id": ' + b"7" * 4_300 + b', "text": "a"}',
    "huge latitude": b'{"user": "h", "location": {"lat": 1' + b"0" * 400 + b', "lon": 1}}',
}


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


async def in_process(rounds: int) -> dict[str, list[float]]:
    gazetteer = Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE, gazetteer)
    gazetteer.warm_up()
    dialogue = OrientationDialogue(knowledge, gazetteer, DialogueSettings(), "54")
    times: dict[str, list[float]] = {"clean": []}
    with tempfile.TemporaryDirectory() as folder:
        async with Store.open(Path(folder) / "bench.db") as store:
            dispatcher = Dispatcher(store, lambda: dialogue)
            n = 0
            for r in range(rounds):
                cases = [("clean", step) for step in CLEAN] + list(HOSTILE.items())
                for name, step in [*cases, *UNBOUNDED.items()]:
                    n += 1
                    start = time.perf_counter()
                    raw = Incoming("bench", f"u{r}-{name}", f"e{n}", **step)  # type: ignore[arg-type]
                    await dispatcher.handle(raw if name in UNBOUNDED else bounded(raw))
                    times.setdefault(name, []).append(time.perf_counter() - start)
    return times


def jsonl(rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"clean": []}
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "chat", "--jsonl", "--db", f"{folder}/bench.db"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdin is not None and proc.stdout is not None

        def ask(line: bytes) -> float:
            start = time.perf_counter()
            proc.stdin.write(line + b"\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            answer = proc.stdout.readline()  # type: ignore[union-attr]
            assert answer.startswith(b"{"), answer[:200]
            return time.perf_counter() - start

        ask(b'{"user": "warm", "text": "bonjour"}')  # start-up is not a turn
        for r in range(rounds):
            cases = [("clean", step) for step in CLEAN] + list(HOSTILE.items())
            for name, step in cases:
                line = json.dumps({"user": f"u{r}-{name}", **step}).encode()
                times.setdefault(name, []).append(ask(line))
            for name, raw in RAW_LINES.items():
                times.setdefault(name, []).append(ask(raw))
        proc.stdin.close()
        proc.wait(60)
    return times


def report(title: str, times: dict[str, list[float]]) -> None:
    clean_p99 = _percentiles(times["clean"])[1]
    hostile = [
        t for name, values in times.items() if name not in ("clean", *UNBOUNDED) for t in values
    ]
    print(f"\n### {title}\n")
    print("| input | n | median ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        median, p99, worst = _percentiles(values)
        print(
            f"| {name} | {len(values)} | {median * 1e3:.1f} | {p99 * 1e3:.1f} | {worst * 1e3:.1f} |"
        )
    median, p99, worst = _percentiles(hostile)
    print(f"| **all hostile (through the boundary)** | {len(hostile)} | {median * 1e3:.1f} | "
          f"{p99 * 1e3:.1f} | {worst * 1e3:.1f} |")  # fmt: skip
    print(f"\nhostile p99 / clean p99 = {p99 / clean_p99:.1f}× (target: at most 10×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    report("Dispatcher.handle after the adapter boundary", asyncio.run(in_process(args.rounds)))
    report("JSON-lines mode (subprocess, line in → line out)", jsonl(args.rounds))


if __name__ == "__main__":
    main()
