"""Start-up, reload and memory of the whole bot, with the compiled knowledge cache.

    python -m bench.bench_startup [--knowledge DIR | --national] [--runs 3] [--users 20]
                                  [--rate 40] [--reloads 3]

Measures, on a copy of the knowledge base (the shipped one, or a national-scale one from
bench/national_kb.py), with the full communes gazetteer:

- the bot's bytecode is compiled first, as `scripts/setup.sh` leaves it;
- **floor**: a Python process that only imports the bot (`import bot.app`), to the end;
- **start-up, cold cache**: `python -m bot chat --jsonl` with no `.cache/` (every YAML file is
  read, validated, checked and the cache written), from the process's start to its first answer
  (wall time), and the CPU time of the whole process (steadier on a busy machine);
- **start-up, warm cache**: the same with the cache written by the previous run; and once more
  without the bot's bytecode (it compiles its sources first, as a bot does that can write no
  `__pycache__`);
- **reload**: in one process (`open_app`, the real dispatcher and SQLite store), `--users`
  simulated people write at a steady pace (`--rate` turns per second in all, so that turns do
  not queue behind each other and the floor is a turn's own time) while the knowledge base is
  reloaded several times after
  (a) one département file changed, (b) a shared file changed (every département checked
  again), (c) every file rewritten as a new release or an import writes it (a line added at the
  top of each, so that every line moves, and one record in 20 changed), (d) every record
  changed (the worst case: every file parsed whole); (e) and (f): (c) and (d) followed by what
  `aiguillage reload` does before it signals the bots, `aiguillage check` in its own process,
  which writes the compiled cache that the bot's reload then reads (the check's own time is
  given apart: the admin waits for it, the people writing do not). Each edit is made by
  another process, as an admin's editor or an import would. For each: the CPU and wall time
  of a reload alone (median of 3), its wall time with people writing (until the new base
  serves; the compiled cache is then encoded on the event loop between turns and written from
  a thread, timed apart), the longest turn that overlapped a reload or its cache writing, the
  same without a reload (the floor), and the event loop's longest stall (a turn that arrives
  then waits that long);
- **memory**: peak RSS (VmHWM) of each process, gazetteer included, reloads included, and the RSS
  after each reload (it must not grow).
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import concurrent.futures
import functools
import itertools
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_KNOWLEDGE

ROOT = Path(__file__).resolve().parents[1]  # the checkout measured: its bot, its bytecode

MESSAGES = [
    "bonjour",
    "je cherche du boulot à Nancy",
    "je suis au RSA",
    "c'est quoi une CAE ?",
    "ma voiture est en panne vers Lunéville",
    "/recommencer",
]


QUIET_RELOADS = 3  # reloads of each kind with nobody writing: the median is reported


def _status_mb(pid: int | str, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


# --- start-up: real subprocesses ----------------------------------------------------------------


def floor(runs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of a process that only imports the bot."""
    walls, cpus = [], []
    for _ in range(runs):
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", "import bot.app"])
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        walls.append(time.perf_counter() - began)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return _median(walls), _median(cpus)


def _ms(seconds: float | None) -> float | None:
    """Milliseconds, rounded; None when there was nothing to measure (a reload so quick that no
    turn, or no tick of the loop, overlapped it)."""
    return None if seconds is None else round(seconds * 1000, 1)


def compile_bytecode() -> None:
    """The bot's bytecode, compiled as `scripts/setup.sh` leaves it (a bot that can write its
    `__pycache__` also has it from its second start)."""
    for package in ("bot", "adapters"):
        compileall.compile_dir(ROOT / package, quiet=1)


def startup(knowledge: Path, cold: bool, compiled: bool = True) -> tuple[float, float, float]:
    """(seconds to the first answer, CPU seconds of the whole process, peak RSS in MB) of one
    `chat --jsonl` process; not `compiled`: without the bot's bytecode (it compiles its
    sources)."""
    if cold:
        shutil.rmtree(knowledge / ".cache", ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "bot", "chat", "--jsonl", "--knowledge", str(knowledge)]
        env = dict(os.environ)
        cwd = ROOT  # `python -m bot` imports the bot of its working directory
        if not compiled:  # a copy of the bot's sources, without bytecode, none written
            cwd = Path(tmp) / "sources"
            for package in ("bot", "adapters"):
                shutil.copytree(
                    ROOT / package, cwd / package, ignore=shutil.ignore_patterns("__pycache__")
                )
            if (ROOT / "config.yaml").exists():  # read from the working directory: the same
                shutil.copy(ROOT / "config.yaml", cwd / "config.yaml")
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        began = time.perf_counter()
        proc = subprocess.Popen(
            [*command, "--db", str(Path(tmp) / "a.db")],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"user": "u1", "text": "bonjour"}) + "\n")
        reply = proc.stdout.readline()
        elapsed = time.perf_counter() - began
        assert reply.startswith('{"user"'), reply
        rss = _status_mb(proc.pid, "VmHWM")
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, rss


# --- reload: one process, people writing all along ------------------------------------------------


def _edit_one_departement(knowledge: Path, n: int) -> None:
    path = sorted((knowledge / "departements").glob("*.yaml"))[0]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("nom: ", f"nom: R{n} ", 1), encoding="utf-8")


def _edit_shared(knowledge: Path, n: int) -> None:
    path = knowledge / "commun" / "faq.yaml"
    path.write_text(path.read_text(encoding="utf-8") + f"# reload {n}\n", encoding="utf-8")


def _every_file(knowledge: Path) -> list[Path]:
    return [*(knowledge / "commun").glob("*.yaml"), *(knowledge / "departements").glob("*")]


def _rename_every(text: str, n: int, every: int) -> str:
    """`text` with the `nom` of one record in `every` changed (of every record, with 1)."""
    counter = itertools.count()

    def rename(match: re.Match[str]) -> str:
        return f"{match.group(1)}R{n} " if next(counter) % every == 0 else match.group(1)

    return _NAME.sub(rename, text)


_NAME = re.compile(r"^(\s*-?\s*nom: )", re.M)


def _edit_new_release(knowledge: Path, n: int) -> None:
    """Every file rewritten, as a new release or an import writes it: a line added at the top
    (every line moves) and one record in 20 changed."""
    for path in _every_file(knowledge):
        text = path.read_text(encoding="utf-8")
        path.write_text(f"# version {n}\n" + _rename_every(text, n, 20), encoding="utf-8")


def _edit_every_record(knowledge: Path, n: int) -> None:
    """The worst case: every record's text changed (a field rewritten in all of them)."""
    for path in _every_file(knowledge):
        text = path.read_text(encoding="utf-8")
        path.write_text(_rename_every(text, n, 1), encoding="utf-8")


def _then_checked(edit: Callable[[Path, int], None], knowledge: Path, n: int) -> float:
    """`edit`, then `aiguillage check` in its own process, as `aiguillage reload` runs it before
    it signals the bots: the check writes the compiled cache, which their reload then reads.
    Returns the check's wall time (the admin waits for it, the bot does not)."""
    edit(knowledge, n)
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "check", "--knowledge", str(knowledge)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return time.perf_counter() - began


EDITS: dict[str, Callable[[Path, int], object]] = {
    "one département changed": _edit_one_departement,
    "a shared file changed": _edit_shared,
    "every file rewritten (new release: lines moved, 1 record in 20 changed)": _edit_new_release,
    "every record changed (worst case)": _edit_every_record,
    "new release, then `aiguillage reload` (its check first, in its own process)": (
        functools.partial(_then_checked, _edit_new_release)
    ),
    "every record changed, then `aiguillage reload` (its check first, in its own process)": (
        functools.partial(_then_checked, _edit_every_record)
    ),
}


async def _reloads(knowledge: Path, users: int, rate: float, reloads: int) -> dict[str, Any]:
    from bot.app import open_app
    from bot.config import Config
    from bot.messages import Incoming

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(knowledge=knowledge, database=Path(tmp) / "a.db")
        async with open_app(config) as app:
            # Samples in arrays of doubles, no object each: a list of tuples of the ticker's 500
            # samples a second held ~9,000 objects more after each reload, counted in the peak.
            turn_began, turn_ended = array("d"), array("d")  # of each turn
            stall_at, stall_lag = array("d"), array("d")  # when the loop ticker woke, how late
            stop = asyncio.Event()
            ids = itertools.count()

            period = users / rate  # each person writes once per period: `rate` turns/s in all

            async def person(name: str, phase: float) -> None:
                await asyncio.sleep(phase)
                for text in itertools.cycle(MESSAGES):
                    if stop.is_set():
                        return
                    incoming = Incoming("bench", name, f"e{next(ids)}", text=text)
                    began = time.perf_counter()
                    await app.dispatcher.handle(incoming)
                    await app.dispatcher.confirm_sent(incoming)
                    ended = time.perf_counter()
                    turn_began.append(began)
                    turn_ended.append(ended)
                    await asyncio.sleep(max(0.0, period - (ended - began)))

            async def ticker() -> None:
                while not stop.is_set():
                    expected = time.perf_counter() + 0.002
                    await asyncio.sleep(0.002)
                    stall_at.append(expected)
                    stall_lag.append(time.perf_counter() - expected)

            quiet: dict[str, dict[str, float]] = {}  # label → figures of a reload alone
            for label, edit in EDITS.items():  # alone first: the CPU a reload costs
                cpus, walls, writes_cpu = [], [], []
                for n in range(QUIET_RELOADS):  # (the first reload after a start is the quickest)
                    edit(knowledge, 90 + n)
                    cpu, wall = time.process_time(), time.perf_counter()
                    assert (await app.knowledge.reload()).applied
                    serving, served = time.process_time(), time.perf_counter()
                    await app.knowledge.settled()  # the compiled cache written, after the swap
                    cpus.append(serving - cpu)
                    walls.append(served - wall)
                    writes_cpu.append(time.process_time() - serving)
                quiet[label] = {
                    "reload_cpu_s (no traffic)": _median(cpus),
                    "reload_wall_s (no traffic)": _median(walls),
                    "then cache written: cpu_s (no traffic)": _median(writes_cpu),
                }
            tasks = [asyncio.create_task(person(f"p{u}", period * u / users)) for u in range(users)]
            tasks.append(asyncio.create_task(ticker()))
            await asyncio.sleep(3)  # the floor: turns without a reload
            quiet_end = time.perf_counter()
            loop = asyncio.get_running_loop()
            editor = concurrent.futures.ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn")
            )
            rss_after: list[float] = []
            for label, edit in EDITS.items():
                windows, durations, writes, checks = [], [], [], []
                for n in range(reloads):
                    # Edited in another process, as by an admin's editor or an import: written
                    # here, the files' rewriting would stall the turns and count as the reload's.
                    checked = await loop.run_in_executor(editor, edit, knowledge, n)
                    if isinstance(checked, float):
                        checks.append(checked)
                    began = time.perf_counter()
                    report = await app.knowledge.reload()
                    ended = time.perf_counter()  # the new base serves
                    await app.knowledge.settled()
                    written = time.perf_counter()
                    assert report.applied, report.summary()
                    windows.append((began, written))
                    durations.append(ended - began)
                    writes.append(written - ended)
                    rss_after.append(round(_status_mb("self", "VmRSS"), 1))
                    await asyncio.sleep(0.5)
                turns = zip(turn_began, turn_ended, strict=True)
                during = [e - s for s, e in turns if any(s < we and e > ws for ws, we in windows)]
                stalls = zip(stall_at, stall_lag, strict=True)
                lags = [lag for at, lag in stalls if any(ws <= at <= we for ws, we in windows)]
                results[label] = {
                    **quiet[label],
                    "reload_median_s": _median(durations),
                    "reload_max_s": round(max(durations), 3),
                    "then cache written: median_s": _median(writes),
                    "turns_during_reloads": len(during),
                    "median_turn_during_reload_ms": _ms(
                        statistics.median(during) if during else None
                    ),
                    "max_turn_during_reload_ms": _ms(max(during, default=None)),
                    "turns_over_50_ms": sum(d > 0.05 for d in during),
                    "max_loop_stall_during_reload_ms": _ms(max(lags, default=None)),
                }
                if checks:  # the admin's wait before the bot's reload (the bot serves on)
                    results[label]["check before it, its own process: median_s"] = _median(checks)
            editor.shutdown()
            stop.set()
            await asyncio.gather(*tasks)
            quiet = [e - s for s, e in zip(turn_began, turn_ended, strict=True) if e <= quiet_end]
            quiet.sort()
            results["floor: turns without reload"] = {
                "turns": len(quiet),
                "median_ms": round(statistics.median(quiet) * 1000, 2),
                "p99_ms": round(quiet[int(len(quiet) * 0.99) - 1] * 1000, 1),
                "max_ms": round(quiet[-1] * 1000, 1),
                "max_loop_stall_ms": round(
                    max(lag for at, lag in zip(stall_at, stall_lag, strict=True) if at <= quiet_end)
                    * 1000,
                    1,
                ),
            }
            results["rss_after_each_reload_mb"] = rss_after
            results["peak_rss_mb"] = round(_status_mb("self", "VmHWM"), 1)
    return results


def reload_child(knowledge: Path, users: int, rate: float, reloads: int) -> dict[str, Any]:
    """Runs the reload measures in a fresh process (its RSS is the bot's alone)."""
    command = [sys.executable, "-m", "bench.bench_startup", "--child", str(knowledge)]
    out = subprocess.run(
        [*command, "--users", str(users), "--rate", str(rate), "--reloads", str(reloads)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


# --- main -----------------------------------------------------------------------------------------


def measure(source: Path, runs: int, users: int, rate: float, reloads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(source, knowledge, ignore=shutil.ignore_patterns(".cache"))
        compile_bytecode()
        cold = [startup(knowledge, cold=True) for _ in range(runs)]
        warm = [startup(knowledge, cold=False) for _ in range(runs)]
        uncompiled = [startup(knowledge, cold=False, compiled=False) for _ in range(runs)]
        floor_wall, floor_cpu = floor(runs)
        return {
            "floor: import only": {"wall_s": floor_wall, "cpu_s": floor_cpu},
            "start-up, cold cache": {
                "wall_s": _median([t for t, _, _ in cold]),
                "cpu_s": _median([c for _, c, _ in cold]),
                "peak_rss_mb": round(max(r for _, _, r in cold), 1),
            },
            "start-up, warm cache": {
                "wall_s": _median([t for t, _, _ in warm]),
                "cpu_s": _median([c for _, c, _ in warm]),
                "peak_rss_mb": round(max(r for _, _, r in warm), 1),
            },
            "start-up, warm cache, the bot's bytecode not compiled": {
                "wall_s": _median([t for t, _, _ in uncompiled]),
                "cpu_s": _median([c for _, c, _ in uncompiled]),
            },
            "reload": reload_child(knowledge, users, rate, reloads),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_KNOWLEDGE)
    parser.add_argument("--national", action="store_true", help="a national-scale base")
    parser.add_argument("--per-departement", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=40, help="turns per second, all people")
    parser.add_argument("--reloads", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        results = asyncio.run(_reloads(args.child, args.users, args.rate, args.reloads))
        print(json.dumps(results))
        return
    source = args.knowledge
    if args.national:
        from bench.national_kb import generate

        source = Path(tempfile.mkdtemp()) / "knowledge"
        total = generate(source, args.per_departement, seed=1)
        print(f"national knowledge base: {total} services", file=sys.stderr)
    results = measure(source, args.runs, args.users, args.rate, args.reloads)
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
