"""`aiguillage check` and live reload, as admins meet them.

    python -m bench.bench_check [--knowledge DIR | --national] [--runs 5] [--edits 5]

On a copy of the knowledge base (the shipped one, or a national-scale one from
bench/national_kb.py):

- **check**: `python -m bot check COPY` as a subprocess, wall time and the process's CPU time,
  with no `.cache/` (every file read, validated and checked) and with the cache the previous run
  wrote; median of `--runs`;
- **live reload**: `python -m bot chat --jsonl` on the copy; a département file is edited
  (a structure renamed), and the time is taken from the write to the bot's "reload finished"
  log line, then to the first answer that shows the new name (the watch waits for the files to
  be quiet: `knowledge_watch.quiet_ms`, 300 ms by default). Meanwhile a person writes without a
  pause: the longest of those turns is given. Median and max of `--edits`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.config import DEFAULT_KNOWLEDGE

ROOT = Path(__file__).resolve().parents[1]
STRUCTURE = "Chantier d'insertion des Jardins de la Meurthe (exemple)"
QUESTION = "je suis au RSA à Nancy et je cherche un chantier d'insertion"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def time_check(knowledge: Path, cold: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of one `aiguillage check`."""
    if cold:
        shutil.rmtree(knowledge / ".cache", ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "check", str(knowledge)],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


class Bot:
    def __init__(self, knowledge: Path, work: Path) -> None:
        self.log_path = work / "bot.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "chat", "--jsonl", "--knowledge", str(knowledge),
             "--db", str(work / "data" / "bench.db")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log_path.open("wb"),
            env=_env(),
        )  # fmt: skip

    def names(self, user: str) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"user": user, "text": QUESTION}).encode() + b"\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return [s["nom"] for s in answer["trace"]["structures"]]

    def reloads(self) -> int:
        return self.log_path.read_text("utf-8", errors="replace").count(
            "knowledge changed: reload finished"
        )

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(60)


def live_reload(knowledge: Path, work: Path, edits: int) -> list[tuple[float, float, float]]:
    """(write → reloaded, write → answer shows it, longest turn meanwhile) per edit."""
    bot = Bot(knowledge, work)
    target = knowledge / "departements" / "54.yaml"
    results = []
    try:
        current = STRUCTURE
        assert current in bot.names("warm-up")
        for n in range(edits):
            renamed = f"Jardins de la Meurthe, version {n + 1} (exemple)"
            text = target.read_text("utf-8")
            start = time.perf_counter()
            target.write_text(text.replace(current, renamed, 1), "utf-8")
            longest, reloaded, shown = 0.0, None, None
            for asked in itertools.count():
                if shown is not None:
                    break
                turn = time.perf_counter()
                names = bot.names(f"p{n}-{asked}")  # a new person each time: a first message
                now = time.perf_counter()
                longest = max(longest, now - turn)
                if reloaded is None and bot.reloads() > n:
                    reloaded = now - start
                if renamed in names:
                    shown = now - start
                if now - start > 60:
                    raise RuntimeError("no reload within 60 s: " + bot.log_path.read_text())
            results.append((reloaded or shown, shown, longest))
            current = renamed
            time.sleep(0.5)
    finally:
        bot.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_KNOWLEDGE)
    parser.add_argument("--national", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        copy = work / "knowledge"
        if args.national:
            from bench.national_kb import generate

            generate(copy, 200, 1)
        else:
            shutil.copytree(args.knowledge, copy, ignore=shutil.ignore_patterns(".cache"))
        print(f"load average: {os.getloadavg()[0]:.1f}")
        for label, cold in (("no cache", True), ("cache", False)):
            if not cold:
                time_check(copy, cold=False)  # writes the cache once
            runs = [time_check(copy, cold) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            print(f"check, {label}: median {wall:.2f} s wall, {cpu:.2f} s CPU ({args.runs} runs)")
        if args.national:
            return  # the renamed structure is the shipped base's
        results = live_reload(copy, work, args.edits)
        for name, index in (("reloaded", 0), ("answer shows it", 1), ("longest turn", 2)):
            values = [r[index] for r in results]
            print(
                f"live reload, {name}: median {statistics.median(values) * 1000:.0f} ms, "
                f"max {max(values) * 1000:.0f} ms ({len(values)} edits)"
            )
        print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
