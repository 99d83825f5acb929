"""Benchmark of bot/places.py: load time, memory, and per-call latency of resolve/find_in_text.

Run: .venv/bin/python bench/bench_places.py [--queries 2000] [--seed 7]

Queries are generated from the gazetteer itself (seeded): commune names written the way
people type them (no accents, lower case, St/Ste, spaces for hyphens, one or two typos),
postal and INSEE codes, arrondissements; and for find_in_text, whole messages with and
without a place in them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bot.places import Gazetteer, Resolution
from bot.text import fold

AZERTY_NEIGHBOURS = {
    "a": "zq", "z": "aes", "e": "zrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "om", "q": "asw", "s": "qdz", "d": "sfe", "f": "dgr",
    "g": "fht", "h": "gjy", "j": "hku", "k": "jli", "l": "kmo", "m": "lp", "w": "xq",
    "x": "wcs", "c": "xvd", "v": "cbf", "b": "vng", "n": "bhj",
}  # fmt: skip

SENTENCES_WITH_PLACE = [
    "je cherche du travail à {name}",
    "jcherche un garage solidaire vers {name}",
    "j'habite {name} et je suis au RSA",
    "bonjour je vis a {name}, je cherche une formation",
    "je suis sur {name} depuis 2 ans",
    "j'habite {postal}",
    "y a quoi comme chantier d'insertion pres de {name} ?",
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
]


def typo(rng: random.Random, word: str) -> str:
    """One AZERTY-neighbour substitution, insertion, deletion, doubling or transposition."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["sub", "ins", "del", "dbl", "swap"])
    if kind == "sub" and word[i] in AZERTY_NEIGHBOURS:
        return word[:i] + rng.choice(AZERTY_NEIGHBOURS[word[i]]) + word[i + 1 :]
    if kind == "ins":
        return word[:i] + rng.choice("aeiourstln") + word[i:]
    if kind == "del":
        return word[:i] + word[i + 1 :]
    if kind == "dbl":
        return word[:i] + word[i] + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def as_typed(rng: random.Random, name: str) -> str:
    text = fold(name) if rng.random() < 0.7 else name
    if rng.random() < 0.5:
        text = text.replace("-", " ")
    if rng.random() < 0.3:
        text = text.replace("saint ", "st ").replace("sainte ", "ste ")
    if rng.random() < 0.4:
        text = typo(rng, text)
        if len(text) > 8 and rng.random() < 0.3:
            text = typo(rng, text)
    return text


def resolve_queries(gaz: Gazetteer, rng: random.Random, count: int) -> list[tuple[str, str]]:
    communes = [gaz.get(code) for code in sample_codes(gaz, rng, count)]
    queries: list[tuple[str, str]] = []
    for commune in communes:
        assert commune is not None
        roll = rng.random()
        if roll < 0.1 and commune.postal_codes:
            queries.append((rng.choice(commune.postal_codes), rng.choice(["", "54", "93"])))
        elif roll < 0.15:
            queries.append((commune.insee, ""))
        elif roll < 0.2:
            queries.append((f"{commune.name} {commune.dept}", ""))
        else:
            queries.append((as_typed(rng, commune.name), rng.choice(["", commune.dept, "54"])))
    queries += [("Paris 15", ""), ("marseille 13e", ""), ("saint denis", "93"), ("xyzzy", "")]
    return queries


def text_queries(gaz: Gazetteer, rng: random.Random, count: int) -> list[tuple[str, str]]:
    queries: list[tuple[str, str]] = []
    for code in sample_codes(gaz, rng, count):
        commune = gaz.get(code)
        assert commune is not None
        if rng.random() < 0.35:
            queries.append((rng.choice(SENTENCES_WITHOUT_PLACE), rng.choice(["", "54"])))
            continue
        template = rng.choice(SENTENCES_WITH_PLACE)
        postal = commune.postal_codes[0] if commune.postal_codes else commune.insee
        text = template.format(name=as_typed(rng, commune.name), postal=postal)
        queries.append((text, rng.choice(["", commune.dept])))
    return queries


def sample_codes(gaz: Gazetteer, rng: random.Random, count: int) -> list[str]:
    """Half uniform over communes, half weighted by population (closer to real users)."""
    communes = list(gaz)
    uniform = rng.choices(communes, k=count // 2)
    weighted = rng.choices(communes, weights=[c.population or 1 for c in communes], k=count)
    return [c.insee for c in (uniform + weighted)[:count]]


def time_calls(
    call: Callable[[str, str | None], Resolution | None], queries: list[tuple[str, str]]
) -> list[float]:
    timings: list[float] = []
    for query, home in queries:
        start = time.perf_counter()
        call(query, home or None)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))]
    print(
        f"{label:<14} n={len(timings):>5}  median {statistics.median(timings):6.3f} ms"
        f"  p99 {p99:6.3f} ms  max {ordered[-1]:6.3f} ms"
    )


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rss_before = rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    gaz = Gazetteer.load()
    loaded, cpu_loaded = time.perf_counter(), time.process_time()
    gaz.warm_up()
    warmed, cpu_warmed = time.perf_counter(), time.process_time()
    print(
        f"load           {1000 * (loaded - start):7.1f} ms wall, "
        f"{1000 * (cpu_loaded - cpu_start):7.1f} ms CPU (fuzzy/postal/GPS indexes are lazy)"
    )
    print(
        f"load+warm_up   {1000 * (warmed - start):7.1f} ms wall, "
        f"{1000 * (cpu_warmed - cpu_start):7.1f} ms CPU"
    )
    print(f"RSS            {rss_mb():7.1f} MB (+{rss_mb() - rss_before:.1f} MB for the gazetteer)")

    rng = random.Random(args.seed)
    resolve_set = resolve_queries(gaz, rng, args.queries)
    text_set = text_queries(gaz, rng, args.queries)
    resolve_timings = time_calls(gaz.resolve, resolve_set)
    text_timings = time_calls(gaz.find_in_text, text_set)
    report("resolve", resolve_timings)
    report("find_in_text", text_timings)

    points = [(rng.uniform(42.5, 51.0), rng.uniform(-4.5, 8.0)) for _ in range(args.queries)]
    start = time.perf_counter()
    for lat, lon in points:
        gaz.nearest(lat, lon)
    per_call = (time.perf_counter() - start) * 1000 / len(points)
    print(f"nearest        n={len(points):>5}  mean {per_call:6.3f} ms")


if __name__ == "__main__":
    main()
