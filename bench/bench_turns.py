"""Turn latency and throughput of the JSON-lines mode, start-up time and memory.

Runs `python -m bot chat --jsonl` as a real subprocess on a knowledge base (the shipped one, or a
national-scale one from bench/national_kb.py) with the full gazetteer, then:
- start-up: time until the first reply to a first message, and the process's peak RSS;
- latency: one line written, its reply read, over a long scripted session (median, p99);
- throughput: all lines written at once, turns per second until the last reply.

    python -m bench.bench_turns [--knowledge DIR] [--national] [--users 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.config import DEFAULT_KNOWLEDGE

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_KNOWLEDGE)
    parser.add_argument(
        "--national", action="store_true", help="generate and use a national-scale knowledge base"
    )
    parser.add_argument("--per-departement", type=int, default=200)
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()
    knowledge = args.knowledge
    if args.national:
        from bench.national_kb import generate

        knowledge = Path(tempfile.mkdtemp()) / "knowledge"
        total = generate(knowledge, args.per_departement, seed=1)
        print(f"national knowledge base: {total} services")
    print(json.dumps(measure(knowledge, args.users), indent=2))


if __name__ == "__main__":
    main()
