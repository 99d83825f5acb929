"""What one reload's build costs, alone: the base read again, checked, and its dialogue built.

    python -m bench.bench_reload_build [--knowledge DIR] [--builds 9] [--edit new-release]

On a copy of the knowledge base (the shipped one by default; a national-scale one from
bench/national_kb.py with `--knowledge`), the bot's own `KnowledgeHolder` reloads the base
`--builds` times after an edit of `bench.bench_startup` (a new release by default: every line
moved, one record in 20 changed), with no traffic. Each figure is the process's CPU time until
the new base serves; what the reload does after (the compiled cache written, the old base freed)
is outside it. It prints the CPU time of each build and their median.

This shared machine's speed changes by a factor of 1.6 within minutes, so that two versions'
CPU times differ less than two runs of one. Instructions do not vary: run the benchmark under
valgrind's cachegrind with 1 and with 4 builds, and a build's count is the difference / 3
(PYTHONHASHSEED=0 fixes the order of sets; about 4 minutes each at national scale):

    PYTHONHASHSEED=0 valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        .venv/bin/python -m bench.bench_reload_build --knowledge /tmp/national --builds 1
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_startup import EDITS
from bot.app import KnowledgeHolder, knowledge_cache, load_static
from bot.config import DEFAULT_KNOWLEDGE, Config
from bot.kb.cache import GAZETTEER_FILE

EDIT_NAMES = {
    "one-file": "one département changed",
    "shared-file": "a shared file changed",
    "new-release": "every file rewritten (new release: lines moved, 1 record in 20 changed)",
    "every-record": "every record changed (worst case)",
}


def build_times(knowledge: Path, builds: int, edit: str) -> list[float]:
    """The CPU seconds of each of `builds` reloads after `edit`, on a copy of `knowledge`."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "knowledge"
        shutil.copytree(knowledge, copy, ignore=shutil.ignore_patterns(".cache"))
        if not (copy / GAZETTEER_FILE).exists():
            shutil.copy(DEFAULT_KNOWLEDGE / GAZETTEER_FILE, copy / GAZETTEER_FILE)
        config = Config(knowledge=copy, database=Path(scratch) / "bot.db")
        cache = knowledge_cache(copy)
        holder = KnowledgeHolder(config, *load_static(config, cache), cache=cache)
        return asyncio.run(_reloads(holder, copy, builds, EDITS[EDIT_NAMES[edit]]))


async def _reloads(
    holder: KnowledgeHolder, knowledge: Path, builds: int, edit: Callable[[Path, int], None]
) -> list[float]:
    times = []
    for n in range(builds):
        edit(knowledge, n)
        started = time.process_time()
        report = await holder.reload()
        times.append(time.process_time() - started)
        assert report.applied, report.errors
        await holder.settled()  # the cache written and the old base freed: not counted
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_KNOWLEDGE)
    parser.add_argument("--builds", type=int, default=9)
    parser.add_argument("--edit", choices=sorted(EDIT_NAMES), default="new-release")
    args = parser.parse_args()
    times = build_times(args.knowledge, args.builds, args.edit)
    print(f"{args.edit}, {args.builds} builds, CPU s each: {[round(t, 3) for t in times]}")
    print(f"median {statistics.median(times):.3f} s, least {min(times):.3f} s")


if __name__ == "__main__":
    main()
