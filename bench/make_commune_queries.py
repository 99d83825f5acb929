"""Generate the typo'd commune-name query set used by `bench/bench_places.py` (seeded).

    .venv/bin/python -m bench.make_commune_queries [--count 2400] [--seed 2026]
        [--out bench/commune_queries.tsv]

Every query is a current commune's name written the way people type it on a phone, with the
commune's own département as the deployment département (the case the bot runs in):

- always folded: lower case, no accents ("Lunéville" → "luneville");
- re-hyphenated: hyphens and apostrophes become spaces (half the time), stay hyphens, or
  spaces become hyphens; now and then two words are glued ("pont a mousson" → "pont amousson");
- "Saint"/"Sainte" abbreviated to "st"/"ste" three times in ten, a leading "Le/La/Les"
  dropped 15 % of the time;
- then one typo, two for names longer than 8 characters two times in three: an AZERTY
  neighbour substitution, an insertion, a deletion, a doubled letter or a transposition.
  A query never equals the name's own matching key (there is always something to forgive).

Half the communes are drawn uniformly, half weighted by population (closer to where people
live), as in the gazetteer note (`../shared/reference/gazetteer.md` §c). The set is committed so
that every figure in `docs/performance.md` is measured on the same queries.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from bot.places import Commune, Gazetteer, place_key
from bot.text import fold

DEFAULT_OUT = Path(__file__).with_name("commune_queries.tsv")
HEADER = "query\thome\tinsee\tname"

AZERTY_NEIGHBOURS = {
    "a": "zq", "z": "aes", "e": "zrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "om", "q": "asw", "s": "qdz", "d": "sfe", "f": "dgr",
    "g": "fht", "h": "gjy", "j": "hku", "k": "jli", "l": "kmo", "m": "lp", "w": "xq",
    "x": "wcs", "c": "xvd", "v": "cbf", "b": "vng", "n": "bhj",
}  # fmt: skip
TYPO_KINDS = ("substitution", "insertion", "deletion", "doubling", "transposition")


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip inside the text (never on its first letter, never on a space)."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha() and i > 0]
    if not letters:
        return text
    i = rng.choice(letters)
    kind = rng.choice(TYPO_KINDS)
    if kind == "substitution" and text[i] in AZERTY_NEIGHBOURS:
        return text[:i] + rng.choice(AZERTY_NEIGHBOURS[text[i]]) + text[i + 1 :]
    if kind == "insertion":
        return text[:i] + rng.choice("aeiourstlnm") + text[i:]
    if kind == "deletion":
        return text[:i] + text[i + 1 :]
    if kind == "transposition" and text[i - 1].isalpha():
        return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]  # doubling (and the fallback of the other kinds)


def rehyphenate(rng: random.Random, folded: str, name: str) -> str:
    """Separators as people type them: spaces, hyphens, or two words glued together."""
    roll = rng.random()
    if roll < 0.5:
        return folded  # hyphens and apostrophes already spaces
    if roll < 0.8:
        return folded.replace(" ", "-") if "-" in name else folded
    if roll < 0.9:
        return folded.replace(" ", "-")
    words = folded.split()
    if len(words) < 2:
        return folded
    j = rng.randrange(len(words) - 1)
    return " ".join([*words[:j], words[j] + words[j + 1], *words[j + 2 :]])


def as_typed(rng: random.Random, name: str) -> str:
    """The commune's name folded, re-hyphenated, abbreviated, with one or two typos."""
    folded = fold(name)
    words = folded.split()
    if len(words) > 1 and words[0] in ("le", "la", "les", "l") and rng.random() < 0.15:
        folded = " ".join(words[1:])
    if rng.random() < 0.3:
        folded = " ".join({"saint": "st", "sainte": "ste"}.get(w, w) for w in folded.split())
    text = rehyphenate(rng, folded, name)
    key = place_key(name)
    for _ in range(20):
        typed = typo(rng, text)
        if len(name) > 8 and rng.random() < 2 / 3:
            typed = typo(rng, typed)
        if place_key(typed) != key:
            return typed
    return text + "e"  # a name so short no slip changes its key (never seen in practice)


def sample(gazetteer: Gazetteer, rng: random.Random, count: int) -> list[Commune]:
    """Half uniform over current communes, half weighted by population."""
    communes = [c for c in gazetteer if "Arrondissement" not in c.name]
    uniform = rng.choices(communes, k=count // 2)
    weights = [c.population or 1 for c in communes]
    weighted = rng.choices(communes, weights=weights, k=count - count // 2)
    return uniform + weighted


def generate(gazetteer: Gazetteer, count: int, seed: int) -> list[tuple[str, str, str, str]]:
    rng = random.Random(seed)
    return [(as_typed(rng, c.name), c.dept, c.insee, c.name) for c in sample(gazetteer, rng, count)]


def read_queries(path: Path = DEFAULT_OUT) -> list[tuple[str, str, str, str]]:
    """(query, home département, expected INSEE code, expected name) rows of a query set."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != HEADER:
        raise ValueError(f"{path}: expected the header {HEADER!r}")
    rows: list[tuple[str, str, str, str]] = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 4:
            raise ValueError(f"{path}:{number}: expected 4 tab-separated fields")
        rows.append((fields[0], fields[1], fields[2], fields[3]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    rows = generate(Gazetteer.load(), args.count, args.seed)
    body = "\n".join("\t".join(row) for row in rows)
    args.out.write_text(f"{HEADER}\n{body}\n", encoding="utf-8")
    print(f"{len(rows)} queries written to {args.out}")


if __name__ == "__main__":
    main()
