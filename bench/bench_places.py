"""Benchmark of the communes gazetteer (bot/places.py) against an earlier version, in one run.

    .venv/bin/python -m bench.bench_places [--baseline 236ffaf] [--held-out 2000] [--seed 7]

The baseline is `bot/places.py` as it was at a git commit (default: the last one before the
home-first search), imported from `git show` into a temporary module, so that both versions
are measured on the same machine at the same moment:

1. start-up: `Gazetteer.load()` and `warm_up()`, each version in a fresh subprocess (wall and
   CPU time, resident memory);
2. `resolve()` on the committed typo'd set (`bench/commune_queries.tsv`, made by
   `bench/make_commune_queries.py`) with the home département known — each version over the
   whole set in turn, twice, alternately first: median and p99 latency (wall and CPU), top-1
   accuracy, found and right, found but wrong (a silent error), asked ("did you mean?"), not
   found;
3. the same on a held-out set made with another seed (never looked at while tuning), and
   without the home département;
4. `find_in_text` on whole messages (both versions), `mentions` (this version), `nearest`.

The current version's search index of each home département is built before timing, as the
bot does for its own département at start-up (`warm_up(home_departement)`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.make_commune_queries import DEFAULT_OUT, generate, read_queries
from bot import places

ROOT = Path(__file__).parents[1]
DEFAULT_BASELINE = "236ffaf"

SENTENCES_WITH_PLACE = [
    "je cherche du travail à {name}",
    "jcherche un garage solidaire vers {name}",
    "j'habite {name} et je suis au RSA",
    "bonjour je vis a {name}, je cherche une formation",
    "je suis sur {name} depuis 2 ans",
    "y a quoi comme chantier d'insertion pres de {name} ?",
    "pour aller à {name} le matin sans voiture comment je fais",
]
SENTENCES_WITHOUT_PLACE = [
    "je cherche du travail",
    "bonjour",
    "j'ai 17 ans",
    "c'est quoi une CAE ?",
    "je suis en formation et je cherche un stage",
    "j'ai pas le permis, comment je fais pour aller bosser",
    "je voudrais de l'aide pour mon CV svp",
    "merci beaucoup pour votre réponse",
    "sans permis c'est dur, y a pas de bus",
    "Mai 2024 j'ai perdu mon poste en cuisine",
]

Query = tuple[str, str, str, str]  # typed, home, expected INSEE, expected name


def baseline_module(ref: str) -> ModuleType | None:
    """`bot/places.py` at a git commit, imported as a module of its own; None if unknown."""
    shown = subprocess.run(
        ["git", "show", f"{ref}:bot/places.py"], cwd=ROOT, capture_output=True, text=True
    )
    if shown.returncode != 0:
        return None
    path = Path(tempfile.mkdtemp()) / "places_baseline.py"
    path.write_text(shown.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("places_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["places_baseline"] = module
    spec.loader.exec_module(module)
    return module


def startup(version: str, ref: str) -> dict[str, float]:
    """Load and warm up one version in this (fresh) process."""
    module = places if version == "current" else baseline_module(ref)
    assert module is not None
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    gazetteer = module.Gazetteer.load(places.DEFAULT_PATH)
    loaded_wall, loaded_cpu = time.perf_counter() - wall, time.process_time() - cpu
    if version == "current":
        gazetteer.warm_up("54")  # the deployment's own département index too
    else:
        gazetteer.warm_up()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "load_ms": 1000 * loaded_wall,
        "load_cpu_ms": 1000 * loaded_cpu,
        "warm_ms": 1000 * (time.perf_counter() - wall),
        "warm_cpu_ms": 1000 * (time.process_time() - cpu),
        "rss_mb": (rss_after - rss_before) / 1024,
    }


def startup_in_subprocess(version: str, ref: str) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.bench_places", "--startup", version, "--baseline", ref]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * len(ordered)))]


class Scores:
    """Latency and accuracy of one version on one query set."""

    def __init__(self) -> None:
        self.timings: list[float] = []
        self.cpu: list[float] = []
        self.top1 = self.found_right = self.found_wrong = self.asked = self.not_found = 0
        self.counted = 0  # queries whose accuracy is counted (those of the first round)

    def add(
        self, elapsed_ms: float, cpu_ms: float, result: Any, insee: str, count: bool = True
    ) -> None:
        self.timings.append(elapsed_ms)
        self.cpu.append(cpu_ms)
        if not count:
            return
        self.counted += 1
        first = result.candidates[0].commune.insee if result.candidates else None
        self.top1 += first == insee
        if result.status == "found":
            self.found_right += first == insee
            self.found_wrong += first != insee
        elif result.status == "ambiguous":
            self.asked += 1
        else:
            self.not_found += 1

    def line(self, label: str) -> str:
        n = self.counted
        share = lambda count: f"{100 * count / n:5.2f} %"  # noqa: E731
        return (
            f"  {label:<9} median {statistics.median(self.timings):6.3f} ms"
            f" (CPU {statistics.median(self.cpu):6.3f})"
            f"  p99 {percentile(self.timings, 0.99):6.3f} ms"
            f" (CPU {percentile(self.cpu, 0.99):6.3f})"
            f"  top-1 {share(self.top1)}"
            f"  found+right {share(self.found_right)}  found+wrong {share(self.found_wrong)}"
            f"  asked {share(self.asked)}  not found {share(self.not_found)}"
        )


def compare_resolve(
    versions: dict[str, Any], queries: list[Query], with_home: bool, rounds: int = 2
) -> dict[str, Scores]:
    """Each version over the whole set in turn, `rounds` times, alternately first (a version's
    calls are timed together, as a bot makes them: not between two calls of the other one)."""
    scores = {name: Scores() for name in versions}
    names = list(versions)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            for typed, home, insee, _ in queries:
                start, cpu = time.perf_counter(), time.process_time()
                result = versions[name].resolve(typed, home if with_home else None)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                scores[name].add(elapsed * 1000, cpu * 1000, result, insee, count=round_ == 0)
    return scores


def time_calls(call: Callable[[str, str | None], object], texts: list[tuple[str, str]]) -> str:
    timings: list[float] = []
    cpu: list[float] = []
    for text, home in texts:
        start, cpu_start = time.perf_counter(), time.process_time()
        call(text, home or None)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    return (
        f"median {statistics.median(timings):6.3f} ms (CPU {statistics.median(cpu):6.3f})"
        f"  p99 {percentile(timings, 0.99):6.3f} ms (CPU {percentile(cpu, 0.99):6.3f})"
    )


def messages(queries: list[Query], rng: random.Random) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for typed, home, _, _ in queries:
        if rng.random() < 0.35:
            texts.append((rng.choice(SENTENCES_WITHOUT_PLACE), home))
        else:
            texts.append((rng.choice(SENTENCES_WITH_PLACE).format(name=typed), home))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git commit to compare to")
    parser.add_argument("--queries", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--held-out", type=int, default=2000, help="size of the held-out set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--startup", choices=["current", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup:
        print(json.dumps(startup(args.startup, args.baseline)))
        return

    baseline = baseline_module(args.baseline)
    labels = ["baseline", "current"] if baseline is not None else ["current"]
    if baseline is None:
        print(f"(baseline {args.baseline} not found in git: measuring this version only)")
    print(f"start-up, each in a fresh process (baseline = {args.baseline}):")
    for label in labels:
        s = startup_in_subprocess(label, args.baseline)
        print(
            f"  {label:<9} load {s['load_ms']:6.0f} ms ({s['load_cpu_ms']:.0f} CPU)"
            f"  load+warm_up {s['warm_ms']:6.0f} ms ({s['warm_cpu_ms']:.0f} CPU)"
            f"  +{s['rss_mb']:.0f} MB"
        )

    current = places.Gazetteer.load()
    current.warm_up()
    versions: dict[str, Any] = {"current": current}
    if baseline is not None:
        old = baseline.Gazetteer.load(places.DEFAULT_PATH)
        old.warm_up()
        versions = {"baseline": old, "current": current}

    committed = read_queries(args.queries)
    held_out = generate(current, args.held_out, seed=args.seed)
    for home in {q[1] for q in committed + held_out}:
        current.warm_up(home)
    sets = [
        (f"typo'd set {args.queries.name} ({len(committed)}), home known", committed, True),
        (f"held-out set (seed {args.seed}, {len(held_out)}), home known", held_out, True),
        (f"typo'd set {args.queries.name}, no home département", committed, False),
    ]
    for title, queries, with_home in sets:
        print(f"resolve, {title}:")
        for label, scores in compare_resolve(versions, queries, with_home).items():
            print(scores.line(label))

    rng = random.Random(args.seed)
    texts = messages(committed, rng)
    print(f"free text, {len(texts)} messages (a third without a place):")
    for label, gazetteer in versions.items():
        print(f"  find_in_text {label:<9} {time_calls(gazetteer.find_in_text, texts)}")
    print(f"  mentions     current   {time_calls(current.mentions, texts)}")

    points = [(rng.uniform(42.5, 51.0), rng.uniform(-4.5, 8.0)) for _ in range(2000)]
    start = time.perf_counter()
    for lat, lon in points:
        current.nearest(lat, lon)
    print(f"nearest (current) mean {(time.perf_counter() - start) * 1000 / len(points):.3f} ms")


if __name__ == "__main__":
    main()
