"""Runtime gazetteer of French communes: name / postal code / INSEE resolution, text spotting, GPS.

Data: ``knowledge/communes.csv.gz``, built by ``scripts/build_gazetteer.py`` (see
``knowledge/ATTRIBUTION.md``). Matching follows the measured recommendations of the project's
gazetteer note: an exact lookup on a folded key first, then rapidfuzz ``fuzz.ratio`` for real
typos, and "ambiguous" rather than a silent guess. With the deployment (home) département
known, a name is looked for there first, over that département's names only (a few hundred,
so a typo costs tens of microseconds, not a scan of 35,000 names), with two extra keys derived
at load time: each name without its leading article ("fauga" for Le Fauga) and the beginnings
of compound names ("jarville" for Jarville-la-Malgrange). Only when home has nothing close is
the rest of France searched; a commune of another département is never taken silently when
home has a close match.

Free-text spotting (`find_in_text`, `mentions`) lives in `bot.place_spotting`, the role of each
place (home, destination, workplace, search) in `bot.place_roles`.
"""

from __future__ import annotations

import bisect
import csv
import gc
import gzip
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeAlias

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Indel, Levenshtein

from bot import place_spotting, place_words
from bot.place_keys import (
    ARTICLES,
    abbreviated_key,
    head_keys,
    name_keys,
    place_key,
    short_key,
)
from bot.place_roles import Role, assign_roles

_HEADER = "insee,name,postal_codes,dept,region,epci,population,lat,lon,type,parent,coord_src"
DEFAULT_PATH = Path(__file__).parents[1] / "knowledge" / "communes.csv.gz"
EARTH_RADIUS_KM = 6371.0088

FUZZY_CUTOFF = 75.0  # below this a fuzzy candidate is not even suggested
CONFIDENT_SCORE = 90.0  # a fuzzy match this good, and clearly ahead, is taken as found
CLEAR_MARGIN = 4.0  # "clearly ahead": more than this many points above the next candidate
HOME_FUZZY_SCORE = 80.0  # the best match in the home département may be taken from here
HOME_CLOSE_SCORE = 85.0  # a home name this close is offered before an exact name elsewhere
HOME_SEARCH_CUTOFF = 70.0  # the home search looks this far (swapped letters are rescored)
SHORT_SEARCH_CUTOFF = 60.0  # ... and this far for names of five letters or less
SUGGESTION_SPAN = 10.0  # suggestions stay within this many points of the best score
PREFIX_SCORE = 90.0  # score of a name that starts with the whole query ("cosne" → Cosne-Cours…)
SHORT_SCORE = 95.0  # score of a name written without its article ("pontet" → Le Pontet)
HEAD_PENALTY = 10.0  # a fuzzy match on a name's beginning scores this much below the ratio
SHORT_PENALTY = 5.0  # a fuzzy match on a name without its article scores this much lower
MAX_CHOICES = 5
DOMINANT_FACTOR = 10  # a homonym this many times bigger than the next one is taken as meant
DOMINANT_MIN = 5_000  # ... if it is a town of at least this population
GRID_DEG = 0.2  # cell size of the nearest() grid, in degrees

_ARRONDISSEMENT = re.compile(r"^(.*) (\d{1,2})(?:er|e) arrondissement$")
_DEPT_SUFFIX = re.compile(r"^(.+?) (\d{2,3}|2a|2b)$")
_CODE = re.compile(r"^(?:\d{5}|2[ab]\d{3})$")
_DIGIT = re.compile(r"\d")


Row: TypeAlias = tuple[str, str, str, str, str, str, str, str, str]
"""A commune's columns of communes.csv.gz: INSEE code, name, postal codes, département, region,
EPCI, population, latitude, longitude (the type and parent columns are read once, at load)."""


@dataclass(frozen=True, slots=True)
class Commune:
    """A current commune (COM) or a municipal arrondissement (ARM) of Paris, Lyon, Marseille."""

    insee: str
    name: str
    postal_codes: tuple[str, ...]
    dept: str
    region: str
    epci: str | None
    population: int | None
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """A candidate commune, its 0..100 score and the name/alias/code that matched."""

    commune: Commune
    score: float
    matched: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """Outcome of resolving what someone typed; candidates are best first."""

    status: Literal["found", "ambiguous", "not_found"]
    candidates: tuple[PlaceMatch, ...]
    query: str


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """A place named in a message: where it is in the raw text, the words that introduced it
    (folded, e.g. "j habite", "aller a", "depuis"; None for a bare name) and its role."""

    resolution: Resolution
    start: int
    end: int
    cue: str | None
    role: Role


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _optional_int(value: str) -> int | None:
    return int(value) if value else None


def _optional_float(value: str) -> float | None:
    return float(value) if value else None


def _arrondissement_aliases(name: str) -> list[str]:
    """ "Paris 15e Arrondissement" → "paris 15", "paris 15e", "paris 15e arrondissement"."""
    found = _ARRONDISSEMENT.match(place_key(name))
    if not found:
        return []
    city, number = found.group(1), found.group(2)
    return [f"{city} {number}", f"{city} {number}e", f"{city} {number}e arrondissement"]


def one_typo_score(length: int) -> float:
    """The `fuzz.ratio` of a name of this length with one letter wrong (75 for four letters):
    short names get their one typo forgiven too, long names are held to HOME_FUZZY_SCORE."""
    return 100.0 * (1.0 - 1.0 / max(length, 1))


def typo_score(typed: str, name: str, ratio: float) -> float:
    """`fuzz.ratio`, except that two swapped letters count as one slip, not two.

    ("olsse" is one slip from "losse" and two from "tosse"; `fuzz.ratio` scores both 80.)
    """
    swaps = Levenshtein.distance(typed, name) - OSA.distance(typed, name)
    if swaps <= 0:
        return ratio
    return 100.0 * (1.0 - (Indel.distance(typed, name) - swaps) / (len(typed) + len(name)))


HALF_DWARFS = 3  # a second half shared by several names: the town this many times bigger


class _KeyPool:
    """Keys sorted by length, so a fuzzy search only scans keys of a compatible length.

    A key of the pool may stand for other name keys with a penalty (a name without its
    article, a name's beginning); `search` answers with the name keys and their scores.
    A compact pool compares names without their spaces ("lecannet" = "le cannet"), since
    people put spaces, hyphens or nothing between the words of a name.
    """

    def __init__(
        self,
        names: Iterable[str],
        aliases: Iterable[tuple[str, str, float]] = (),
        compact: bool = False,
    ) -> None:
        """`names`: name keys searched as they are; `aliases`: (key searched, name key it
        stands for, penalty on the score)."""
        self._compact = compact
        if compact:  # several names may lose their spaces into one key: all are aliases
            aliases = [*aliases, *((name, name, 0.0) for name in names)]
            names = ()
        plain = {name: name for name in names}
        stands_for: dict[str, list[tuple[str, float]]] = {}
        for key, name_key, penalty in aliases:
            searched = key.replace(" ", "") if compact else key
            stands_for.setdefault(searched, []).append((name_key, penalty))
        # A key that stands only for itself is not stored (most of the national pool).
        for searched, name_key in plain.items():
            if searched != name_key or searched in stands_for:
                stands_for.setdefault(searched, []).append((name_key, 0.0))
        self._stands_for = stands_for
        self.keys = sorted(plain.keys() | stands_for.keys())
        self.keys.sort(key=len)  # stable: by length, then alphabetically
        self.lengths = [len(k) for k in self.keys]

    def __len__(self) -> int:
        return len(self.keys)

    def search(
        self, key: str, limit: int = 8, cutoff: float = FUZZY_CUTOFF
    ) -> list[tuple[str, float]]:
        """Name keys close to `key`, with their scores (at least `cutoff`, or one typo)."""
        typed = key.replace(" ", "") if self._compact else key
        if len(typed) < 2:  # one letter has no typo to forgive (exact names are found before)
            return []
        floor = min(FUZZY_CUTOFF, one_typo_score(len(typed)))
        # A score >= floor needs the shorter string to be at least floor/(200-floor) as long.
        shortest = floor / (200.0 - floor)
        lo = bisect.bisect_left(self.lengths, math.ceil(len(typed) * shortest))
        hi = bisect.bisect_right(self.lengths, len(typed) / shortest)
        found = process.extract(
            typed,
            self.keys[lo:hi],
            scorer=fuzz.ratio,
            processor=None,
            limit=limit,
            score_cutoff=cutoff,
        )
        best: dict[str, float] = {}
        for choice, ratio, _ in found:
            score = typo_score(typed, choice, float(ratio))
            for name_key, penalty in self._stands_for.get(choice, ((choice, 0.0),)):
                if score - penalty >= floor and score - penalty > best.get(name_key, 0.0):
                    best[name_key] = score - penalty
        return list(best.items())


class Gazetteer:
    """In-memory index of communes; build it once with `Gazetteer.load()`."""

    def __init__(
        self,
        rows: dict[str, Row],
        aliases: dict[str, str],
        names: dict[str, list[tuple[str, str]]],
        arm_parent: dict[str, str],
        dept_names: dict[str, str],
    ) -> None:
        self._rows = rows  # INSEE → its row, for COM and ARM; Commune values are made lazily
        self._made: dict[str, Commune] = {}
        self._aliases = aliases
        self._names = names
        self._arm_parent = arm_parent
        self._dept_names = dept_names
        self._depts = frozenset(row[3] for row in rows.values())
        self._dept_pools: dict[str, _KeyPool] = {}

    def _commune(self, insee: str) -> Commune:
        """The Commune of a COM/ARM code, made from its row on first use (keeps load fast)."""
        commune = self._made.get(insee)
        if commune is None:
            commune = self._made[insee] = _commune_from_row(self._rows[insee])
        return commune

    def warm_up(
        self, home_departement: str | None = None, derived: place_spotting.Derived | None = None
    ) -> None:
        """Build the search indexes now rather than on the first message (~0.3 s).

        Call it at start-up in a long-running bot so the first person does not wait; with
        the deployment département, its own search index is built too (a few milliseconds).
        The GPS grid and the EPCI members are built on their first use (~40 and ~10 ms):
        few conversations need them. With `derived` (the compiled cache), the ordinary words
        of `place_spotting` are read from there (see `place_spotting.warm_up`).
        """
        with _gc_paused():
            indexes = ("_sorted_keys", "_short_names", "_second_halves", "_all", "_keys_by_dept",
                       "_big_towns")  # fmt: skip
            for index in (*indexes, "_postal"):
                getattr(self, index)
            place_spotting.warm_up(derived)
            home = _normal_dept(home_departement)
            if home is not None and home in self._depts:
                self._dept_pool(home)

    @cached_property
    def _sorted_keys(self) -> list[str]:
        return sorted(self._names)

    @cached_property
    def _with_article(self) -> list[tuple[str, str]]:
        """(name without its article, name) for the names that start with one."""
        starts = tuple(f"{article} " for article in ARTICLES)
        return [(k.partition(" ")[2], k) for k in self._names if k.startswith(starts)]

    @cached_property
    def _second_halves(self) -> dict[str, list[tuple[str, str]]]:
        """The second half of a name made of two names ("vauzelles" → Varennes-Vauzelles),
        where that half is no name itself; looked up only in the home département."""
        halves: dict[str, list[tuple[str, str]]] = {}
        for key in self._names:
            first, _, second = key.partition(" ")
            if second.startswith("de ") and second.count(" ") == 1:
                second = second[3:]  # "luchon" → Bagnères-de-Luchon
            if not second or " " in second or len(first) < 4 or len(second) < 5:
                continue
            if first in ("saint", "sainte") or second in place_words.GRAMMAR:
                continue
            if second not in self._names:
                halves.setdefault(second, []).extend((insee, key) for insee, _ in self._names[key])
        return halves

    @cached_property
    def _short_names(self) -> dict[str, list[tuple[str, str]]]:
        """Names without their article ("fauga" → Le Fauga), where that is no name itself."""
        short: dict[str, list[tuple[str, str]]] = {}
        for rest, key in self._with_article:
            if rest not in self._names:
                short.setdefault(rest, []).extend(self._names[key])
        return short

    @cached_property
    def _all(self) -> _KeyPool:
        # "paris 15e" and the like are matched exactly, never corrected
        digits = {k for k in self._names if _DIGIT.search(k)}
        short = [(rest, k, SHORT_PENALTY) for rest, k in self._with_article if k not in digits]
        return _KeyPool((key for key in self._names if key not in digits), short)

    @cached_property
    def _big_towns(self) -> _KeyPool:
        """The names of the towns that free text may name from anywhere (a few hundred)."""
        big = str(place_spotting.BIG_TOWN)
        towns = {
            insee
            for insee, row in self._rows.items()
            if len(row[6]) > len(big) or (len(row[6]) == len(big) and row[6] >= big)
        }
        keys = [
            key
            for key, entries in self._names.items()
            if any(insee in towns for insee, _ in entries) and not _DIGIT.search(key)
        ]
        return _KeyPool(keys)

    @cached_property
    def _keys_by_dept(self) -> dict[str, list[str]]:
        by_dept: dict[str, list[str]] = defaultdict(list)
        rows = self._rows
        for key, entries in self._names.items():
            if len(entries) == 1:  # the usual case: one commune has this name
                by_dept[rows[entries[0][0]][3]].append(key)
                continue
            for dept in {rows[insee][3] for insee, _ in entries}:
                by_dept[dept].append(key)
        return dict(by_dept)

    def _dept_pool(self, dept: str) -> _KeyPool:
        """A département's names, without their article, and their beginnings (built once)."""
        pool = self._dept_pools.get(dept)
        if pool is None:
            names, aliases = self._dept_entries(dept)
            pool = self._dept_pools[dept] = _KeyPool(names, aliases, compact=True)
        return pool

    def _dept_entries(self, dept: str) -> tuple[list[str], list[tuple[str, str, float]]]:
        """A département's name keys, and the aliases that stand for them."""
        keys = [k for k in self._keys_by_dept.get(dept, []) if not _DIGIT.search(k)]
        entries: list[tuple[str, str, float]] = []
        own = set(keys)
        heads: dict[str, dict[str, float]] = defaultdict(dict)
        for key in keys:
            abbreviated = abbreviated_key(key)
            if abbreviated is not None:
                entries.append((abbreviated, key, 0.0))
            rest = short_key(key)
            if rest is not None and rest not in own:
                entries.append((rest, key, SHORT_PENALTY))
            for head in head_keys(key):
                heads[head][key] = HEAD_PENALTY
            for head in head_keys(rest) if rest else ():
                heads[head].setdefault(key, HEAD_PENALTY + SHORT_PENALTY)
        for head, stands_for in heads.items():
            if head not in own and len(stands_for) <= MAX_CHOICES:
                entries += [(head, key, penalty) for key, penalty in stands_for.items()]
        return keys, entries

    @cached_property
    def _postal(self) -> dict[str, tuple[str, ...]]:
        return _postal_index(self._rows, self._arm_parent)

    @cached_property
    def _epci(self) -> dict[str, list[str]]:
        members: dict[str, list[str]] = defaultdict(list)
        for insee, row in self._rows.items():
            if row[5]:
                members[row[5]].append(insee)
        return dict(members)

    @cached_property
    def _grid(self) -> dict[tuple[int, int], list[tuple[str, float, float]]]:
        cities = set(self._arm_parent.values())
        return _build_grid((i, r) for i, r in self._rows.items() if i not in cities)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """Read communes.csv.gz (and admin_units.csv beside it, for département names)."""
        path = path or DEFAULT_PATH
        with _gc_paused():
            communes, aliases, names, arm_parent = _parse(path)
        return cls(communes, aliases, names, arm_parent, _read_dept_names(path))

    # ------------------------------------------------------------------ lookups

    def get(self, insee: str) -> Commune | None:
        """The commune for an INSEE code; a former commune's code gives its current commune."""
        code = insee.strip().upper()
        code = code if code in self._rows else self._aliases.get(code, "")
        return self._commune(code) if code else None

    def __contains__(self, insee: object) -> bool:
        return isinstance(insee, str) and self.get(insee) is not None

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Commune]:
        """Every commune and arrondissement, in INSEE code order."""
        return (self._commune(insee) for insee in self._rows)

    def named(self, name: str) -> tuple[Commune, ...]:
        """The communes whose name (or former name) is exactly `name`, accents, case, hyphens
        and "St" aside; an arrondissement answers to its city's name followed by its number."""
        return tuple(self._commune(insee) for insee, _ in self._names.get(place_key(name), ()))

    def with_postal_code(self, code: str) -> tuple[Commune, ...]:
        """The communes (an arrondissement rather than its city) that La Poste gives `code`."""
        return tuple(self._commune(insee) for insee in self._postal.get(code.strip(), ()))

    def communes_of_epci(self, siren: str) -> tuple[Commune, ...]:
        """Member communes (and arrondissements) of an EPCI, by SIREN."""
        return tuple(self._commune(insee) for insee in self._epci.get(siren.strip(), ()))

    def nearest(self, lat: float, lon: float) -> Commune | None:
        """The commune whose point (mairie or centre) is nearest; arrondissements for PLM."""
        row, col = _cell(lat, lon)
        best: tuple[float, str] | None = None
        cell_km = GRID_DEG * 111.2 * max(math.cos(math.radians(lat)), 0.05)
        for ring in range(0, 60):
            for key in _ring_cells(row, col, ring):
                for insee, clat, clon in self._grid.get(key, ()):
                    dist = distance_km(lat, lon, clat, clon)
                    if best is None or dist < best[0]:
                        best = (dist, insee)
            if best is not None and best[0] <= ring * cell_km:
                break
        return self._commune(best[1]) if best else None

    def dept_code(self, word: str) -> str | None:
        """A département code if `word` is one ("93", "2a"), else None."""
        code = word.upper()
        return code if code in self._depts else None

    # ------------------------------------------------------------------ free text

    def find_in_text(self, text: str, home_departement: str | None = None) -> Resolution | None:
        """The commune a free-text message names, or None; ordinary words are not places.

        When a message names several places, the most certain one (a postal code, a name
        after "j'habite" or "à"…). `mentions` gives them all, with their role.
        """
        found = place_spotting.first_spot(self, text, _normal_dept(home_departement))
        return found.resolution if found else None

    def mentions(self, text: str, home_departement: str | None = None) -> list[PlaceMention]:
        """Every place a message names, in text order, each with its role.

        "j'habite Cosne et je dois aller à Bourges" → Cosne (home, cue "j habite"), Bourges
        (destination, cue "aller a").
        """
        home = _normal_dept(home_departement)
        tokens = place_spotting.tokenize(text)
        spots = place_spotting.all_spots(self, text, home, tokens)
        roles = assign_roles(
            [t.key for t in tokens],
            place_spotting.clause_starts(text, tokens),
            [(s.first, s.last + 1) for s in spots],
        )
        return [
            PlaceMention(s.resolution, s.start, s.end, cue, role)
            for s, (role, cue) in zip(spots, roles, strict=True)
        ]

    # ------------------------------------------------------------------ what spotting asks

    def is_name(self, key: str, dept: str | None = None) -> bool:
        """Whether a folded key is exactly the name of a commune (in `dept` if given)."""
        entries = self._names.get(key, ())
        if dept is None:  # asked for every span of every message: no generator for it
            return bool(entries)
        return any(self._rows[insee][3] == dept for insee, _ in entries)

    def population(self, key: str, dept: str | None = None) -> int:
        """Population of the biggest commune named `key` (in `dept` if given), else 0."""
        return max(
            (
                self._commune(insee).population or 0
                for insee, _ in self._names.get(key, ())
                if dept is None or self._rows[insee][3] == dept
            ),
            default=0,
        )

    def resolve_in_text(self, key: str, home: str | None) -> Resolution:
        """A misspelt name in free text: with a home département, only its communes and the
        big towns are candidates (the only ones spotting would accept), which keeps a
        message free of any scan of the 35,000 names."""
        if home is None:
            return self.resolve_key(key, None)
        exact = self._exact(key)
        decided, home_matches = self._resolve_at_home(key, home, exact, key)
        if decided is not None:
            return decided
        if exact:
            return _decide_exact(exact, home, key)
        big = [m for k, s in self._big_towns.search(key) for m in self._matches(k, s)]
        big = [m for m in big if (m.commune.population or 0) >= place_spotting.BIG_TOWN]
        return _decide_fuzzy(_dedup(big + home_matches), home, key)

    def exact_name(self, key: str, home: str | None) -> Resolution | None:
        """An exact name, or a home name that starts with it; no typo forgiven in the name,
        but an exact name elsewhere one slip away from a home name is asked about ("à Poisy"
        in the Yvelines: Poissy or Poisy?)."""
        exact = self._exact(key)
        if home is not None and not any(m.commune.dept == home for m in exact):
            if exact:
                decided, _ = self._resolve_at_home(key, home, exact, key)
                return decided or _decide_exact(exact, home, key)
            starts = _dedup(self._starts(key, home))
            return _decide_exact(starts, home, key) if starts else None
        return _decide_exact(exact, home, key) if exact else None

    # ------------------------------------------------------------------ resolution

    def resolve(self, query: str, home_departement: str | None = None) -> Resolution:
        """Resolve what someone typed for "where do you live" (name, postal or INSEE code)."""
        home = _normal_dept(home_departement)
        key = place_key(query)
        text = query.strip()
        if not key:
            return Resolution("not_found", (), text)
        words = key.split()
        codes = [w for w in words if _CODE.match(w)]
        if codes:
            rest = " ".join(w for w in words if w != codes[0])
            return self._resolve_code(codes[0].upper(), rest, text, home)
        return self.resolve_key(key, home, text)

    def resolve_key(self, key: str, home: str | None, query: str | None = None) -> Resolution:
        """A folded name: exactly, then in the home département, then in the rest of France.

        An explicit département ("saint denis 93", "… la reunion") scopes the search; a name
        that only ends like a département ("champigny sur marne") is searched as a whole.
        """
        query = key if query is None else query
        exact = self._exact(key)
        if exact and (home is None or any(m.commune.dept == home for m in exact)):
            return _decide_exact(exact, home, query)
        numbered = self._numbered_dept(key)
        if numbered is not None:
            scoped = self._resolve_in(*numbered, query)
            return scoped or self.resolve_key(numbered[0], home, query)
        home_matches: list[PlaceMatch] = []
        if home is not None:
            decided, home_matches = self._resolve_at_home(key, home, exact, query)
            if decided is not None:
                return decided
        if exact:
            return _decide_exact(exact, home, query)
        named = self._named_dept(key)
        if named is not None and (scoped := self._exact_in(*named, query)) is not None:
            return scoped
        starts = _dedup(self._starts(key, None))
        if starts:
            return _decide_exact(starts, home, query)
        found = self._resolve_everywhere(key, home, query, home_matches)
        if found.status == "not_found" and named is not None:
            return self._resolve_in(*named, query) or found
        return found

    def _resolve_at_home(
        self, key: str, home: str, exact: list[PlaceMatch], query: str
    ) -> tuple[Resolution | None, list[PlaceMatch]]:
        """The home département's answer, if it has a close one; and its candidates.

        `exact` are exact names elsewhere: a home name that starts with the query wins over
        them ("charleville" in the Ardennes); a close misspelling at home is offered first.
        """
        starts = _dedup(self._starts(key, home))
        if exact:
            if starts:
                found = _decide_exact(starts, home, query)
                more = (*found.candidates, *_present(exact, home))
                return Resolution(found.status, more[:MAX_CHOICES], query), []
            close_score = min(HOME_CLOSE_SCORE, one_typo_score(_letters(key)))
            close = [m for m in self._fuzzy_in(key, home) if m.score >= close_score]
            if not close:
                return None, []
            offered = (*_ranked(close, home)[: MAX_CHOICES - 1], *_present(exact, home))
            return Resolution("ambiguous", offered[:MAX_CHOICES], query), []
        ranked = _ranked(_dedup(starts + self._fuzzy_in(key, home)), home)
        if not ranked or ranked[0].score < _home_score(key):
            return None, ranked
        return _decide_among(ranked, home, query, _home_score(key)), ranked

    def _resolve_in(self, key: str, dept: str, query: str) -> Resolution | None:
        """A name searched in one département only (it was written after the name)."""
        found = self._exact_in(key, dept, query)
        if found is not None:
            return found
        ranked = _ranked(self._fuzzy_in(key, dept), dept)
        return _decide_among(ranked, dept, query, _home_score(key)) if ranked else None

    def _exact_in(self, key: str, dept: str, query: str) -> Resolution | None:
        exact = [m for m in self._exact(key) if m.commune.dept == dept]
        exact = exact or _dedup(self._starts(key, dept))
        return _decide_exact(exact, dept, query) if exact else None

    def _resolve_everywhere(
        self, key: str, home: str | None, query: str, home_matches: list[PlaceMatch]
    ) -> Resolution:
        matches = [m for k, s in self._all.search(key) for m in self._matches(k, s)]
        return _decide_fuzzy(_dedup(matches + home_matches), home, query)

    def _exact(self, key: str) -> list[PlaceMatch]:
        return _dedup(self._matches(key, 100.0))

    def _fuzzy_in(self, key: str, dept: str) -> list[PlaceMatch]:
        cutoff = SHORT_SEARCH_CUTOFF if _letters(key) <= 5 else HOME_SEARCH_CUTOFF
        found = self._dept_pool(dept).search(key, limit=12, cutoff=cutoff)
        return _dedup(m for k, s in found for m in self._matches(k, s, dept))

    def _matches(self, key: str, score: float, only_dept: str | None = None) -> list[PlaceMatch]:
        entries = self._names.get(key, [])
        found = [PlaceMatch(self._commune(insee), score, name) for insee, name in entries]
        return [m for m in found if only_dept is None or m.commune.dept == only_dept]

    def _starts(self, key: str, dept: str | None) -> list[PlaceMatch]:
        """Names that start with the whole query ("charleville" → "charleville mezieres"),
        and names written without their article ("pontet" → "le pontet")."""
        short = [
            PlaceMatch(self._commune(insee), SHORT_SCORE, name)
            for insee, name in self._short_names.get(key, ())
            if dept is None or self._rows[insee][3] == dept
        ]
        found = short + self._prefix_matches(key, dept)
        if found or dept is None:
            return found
        halves = [  # "vauzelles": only when no name starts with it ("cosne": Cosne-Cours-…)
            PlaceMatch(self._commune(insee), SHORT_SCORE, name)
            for insee, name in self._second_halves.get(key, ())
            if self._rows[insee][3] == dept
        ]
        halves.sort(key=lambda m: -(m.commune.population or 0))
        if len(halves) > 1 and (halves[0].commune.population or 0) >= HALF_DWARFS * (
            halves[1].commune.population or 0
        ):
            return halves[:1]  # "luchon": Bagnères-de-Luchon, not its small neighbours
        return halves

    def _prefix_matches(self, key: str, dept: str | None) -> list[PlaceMatch]:
        if len(key) < 4 or key in ("saint", "sainte"):
            return []
        prefix = key + " "
        index = bisect.bisect_left(self._sorted_keys, prefix)
        found: list[PlaceMatch] = []
        for name_key in self._sorted_keys[index : index + 60]:
            if not name_key.startswith(prefix):
                break
            found += self._matches(name_key, PREFIX_SCORE, dept)
        return found if 0 < len({m.commune.insee for m in found}) <= MAX_CHOICES else []

    def _resolve_code(self, code: str, rest: str, query: str, home: str | None) -> Resolution:
        """A 5-digit postal code first, else an INSEE code; a name next to it filters."""
        insees = self._postal.get(code, ())
        matches = [PlaceMatch(self._commune(i), 100.0, code) for i in insees]
        if rest and len(matches) > 1:
            named = [m for m in matches if fuzz.ratio(rest, place_key(m.commune.name)) >= 75]
            matches = named or matches
        if not matches and (commune := self.get(code)) is not None:
            matches = [PlaceMatch(commune, 100.0, code)]
        if not matches and rest:  # an unknown number next to a name: go by the name
            return self.resolve_key(rest, home, query)
        if not matches:
            return Resolution("not_found", (), query)
        if len(matches) == 1:
            return Resolution("found", tuple(matches), query)
        return Resolution("ambiguous", _present(matches, home), query)

    def _numbered_dept(self, key: str) -> tuple[str, str] | None:
        """ "saint denis 93" → ("saint denis", "93")."""
        found = _DEPT_SUFFIX.match(key)
        if found and found.group(2).upper() in self._depts:
            return found.group(1), found.group(2).upper()
        return None

    def _named_dept(self, key: str) -> tuple[str, str] | None:
        """ "saint denis la reunion" → ("saint denis", "974"); also "… sur marne" → "51"."""
        words = key.split()
        for size in range(1, min(4, len(words) - 1) + 1):
            dept = self._dept_names.get(" ".join(words[-size:]))
            if dept is not None:
                return " ".join(words[:-size]), dept
        return None


# ---------------------------------------------------------------------- module helpers


def _parse(
    path: Path,
) -> tuple[dict[str, Row], dict[str, str], dict[str, list[tuple[str, str]]], dict[str, str]]:
    """Rows of communes (COM, ARM), former-code aliases, the name index and ARM → city."""
    communes: dict[str, Row] = {}
    aliases: dict[str, str] = {}
    arm_parent: dict[str, str] = {}
    named: list[tuple[str, str, str]] = []  # (name as written, INSEE it designates, type)
    shared: dict[str, str] = {}  # one object for each value of the repeated columns
    share = shared.setdefault
    for row in _read_rows(path):
        insee, name, kind, parent = row[0], row[1], row[9], row[10]
        if kind in ("COM", "ARM"):
            postal, dept, region, epci, population, lat, lon = row[2:9]
            communes[insee] = (
                insee, name, share(postal, postal), share(dept, dept), share(region, region),
                share(epci, epci), share(population, population), lat, lon,
            )  # fmt: skip
            if kind == "ARM":
                arm_parent[insee] = parent
        named.append((name, insee if kind in ("COM", "ARM") else parent, kind))
        if kind in ("COMD", "COMA"):
            aliases.setdefault(insee, parent)
    aliases = {code: parent for code, parent in aliases.items() if code not in communes}
    return communes, aliases, _name_index(named, communes), arm_parent


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects (it would rescan them all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _commune_from_row(row: Row) -> Commune:
    insee, name, postal, dept, region, epci, population, lat, lon = row
    return Commune(
        insee,
        name,
        tuple(postal.split()),
        dept,
        region,
        epci or None,
        _optional_int(population),
        _optional_float(lat),
        _optional_float(lon),
    )


def _name_index(
    named: Sequence[tuple[str, str, str]], communes: dict[str, Row]
) -> dict[str, list[tuple[str, str]]]:
    """Folded key → [(INSEE of the COM/ARM it designates, name as written)], no duplicates."""
    index: dict[str, list[tuple[str, str]]] = {}
    keys = name_keys([name for name, _, _ in named])
    for (name, insee, kind), name_key in zip(named, keys, strict=True):
        if insee not in communes:
            continue
        keys = [name_key] + (_arrondissement_aliases(name) if kind == "ARM" else [])
        for key in keys:
            entries = index.setdefault(key, [])
            if all(existing != insee for existing, _ in entries):
                entries.append((insee, name))
    return index


def _read_rows(path: Path) -> Iterable[list[str]]:
    """Rows of communes.csv.gz; a plain split when no field is quoted, which is the norm."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        text = handle.read()
    header, _, body = text.partition("\n")
    if header != _HEADER:
        raise ValueError(f"{path}: unexpected header {header!r}")
    if '"' in body:
        yield from csv.reader(io.StringIO(body))
        return
    for line in body.splitlines():
        yield line.split(",")


def _postal_index(rows: dict[str, Row], arm_parent: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Postal code → INSEE codes; an arrondissement replaces its city for its own codes."""
    index: dict[str, list[str]] = defaultdict(list)
    for insee, row in rows.items():
        for code in row[2].split():
            index[code].append(insee)
    result: dict[str, tuple[str, ...]] = {}
    for code, insees in index.items():
        cities = {arm_parent[i] for i in insees if i in arm_parent}
        result[code] = tuple(i for i in insees if i not in cities)
    return result


def _read_dept_names(path: Path) -> dict[str, str]:
    """Folded département name (with and without its article) → code, from admin_units.csv."""
    units = path.with_name("admin_units.csv")
    if not units.exists():
        return {}
    names: dict[str, str] = {}
    with open(units, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["level"] == "departement":
                key = place_key(row["name"])
                names[key] = row["code"]
                rest = short_key(key)
                if rest is not None:
                    names[rest] = row["code"]
    return names


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / GRID_DEG), math.floor(lon / GRID_DEG))


def _build_grid(
    rows: Iterable[tuple[str, Row]],
) -> dict[tuple[int, int], list[tuple[str, float, float]]]:
    """Grid cell → (INSEE code, lat, lon) of the communes whose point is in it."""
    grid: dict[tuple[int, int], list[tuple[str, float, float]]] = defaultdict(list)
    for insee, row in rows:
        if row[7] and row[8]:
            lat, lon = float(row[7]), float(row[8])
            grid[_cell(lat, lon)].append((insee, lat, lon))
    return dict(grid)


def _ring_cells(row: int, col: int, ring: int) -> Iterable[tuple[int, int]]:
    """Cells at Chebyshev distance `ring` from (row, col)."""
    if ring == 0:
        yield (row, col)
        return
    for dc in range(-ring, ring + 1):
        yield (row - ring, col + dc)
        yield (row + ring, col + dc)
    for dr in range(-ring + 1, ring):
        yield (row + dr, col - ring)
        yield (row + dr, col + ring)


def _normal_dept(dept: str | None) -> str | None:
    if not dept:
        return None
    code = dept.strip().upper()
    return "0" + code if len(code) == 1 else code


def _dedup(matches: Iterable[PlaceMatch]) -> list[PlaceMatch]:
    """One match per commune: the best score, then the commune's own name."""
    best: dict[str, PlaceMatch] = {}
    for match in matches:
        current = best.get(match.commune.insee)
        own = match.matched == match.commune.name
        if current is None or (match.score, own) > (
            current.score,
            current.matched == current.commune.name,
        ):
            best[match.commune.insee] = match
    return list(best.values())


def _home_first(match: PlaceMatch, home: str | None) -> tuple[int, int, int]:
    """Home département first, then the same side of the sea as home, then by population."""
    dept = match.commune.dept
    overseas_gap = home is not None and (len(dept) > 2) != (len(home) > 2)
    return (0 if dept == home else 1, int(overseas_gap), -(match.commune.population or 0))


def _present(matches: Iterable[PlaceMatch], home: str | None) -> tuple[PlaceMatch, ...]:
    """Choices to offer: home département first, then by population; at most five."""
    return tuple(sorted(matches, key=lambda m: _home_first(m, home))[:MAX_CHOICES])


def _ranked(matches: Iterable[PlaceMatch], home: str | None) -> list[PlaceMatch]:
    return sorted(matches, key=lambda m: (-m.score, *_home_first(m, home)))


def _suggested(matches: Iterable[PlaceMatch], home: str | None) -> tuple[PlaceMatch, ...]:
    """Fuzzy choices to offer: home département first, then the closest, then the biggest."""
    ordered = sorted(
        matches, key=lambda m: (m.commune.dept != home, -m.score, *_home_first(m, home))
    )
    return tuple(ordered[:MAX_CHOICES])


def _dominant(matches: list[PlaceMatch]) -> PlaceMatch | None:
    """The homonym that dwarfs all others (La Rochelle 17 vs La Rochelle 70), if any."""
    by_size = sorted(matches, key=lambda m: -(m.commune.population or 0))
    first = by_size[0].commune.population or 0
    second = by_size[1].commune.population or 0
    return by_size[0] if first >= DOMINANT_MIN and first >= DOMINANT_FACTOR * second else None


def _decide_exact(matches: list[PlaceMatch], home: str | None, query: str) -> Resolution:
    """One commune → found; homonyms → the one in the home département, or one that dwarfs
    the others by population; otherwise ask."""
    ranked = _ranked(matches, home)
    top = [m for m in ranked if m.score == ranked[0].score]
    in_home = [m for m in top if home and m.commune.dept == home]
    chosen = top[0] if len(top) == 1 else in_home[0] if len(in_home) == 1 else None
    if chosen is None and not in_home:
        chosen = _dominant(top)
    if chosen is not None:
        best = chosen
        rest = [m for m in ranked if m is not best]
        return Resolution("found", (best, *rest[: MAX_CHOICES - 1]), query)
    return Resolution("ambiguous", _present(in_home or top, home), query)


def _letters(key: str) -> int:
    return len(key) - key.count(" ")


def _home_score(key: str) -> float:
    """The score from which a home name may be taken: HOME_FUZZY_SCORE, or one typo in a
    name of four letters or less ("fois" → Foix in Ariège)."""
    return min(HOME_FUZZY_SCORE, one_typo_score(_letters(key)))


def _decide_among(ranked: list[PlaceMatch], home: str, query: str, enough: float) -> Resolution:
    """Candidates of one département (best first): found when the best scores `enough` and
    is clearly ahead of the others, else the close ones are offered."""
    best = ranked[0]
    if best.score < enough:
        return Resolution("ambiguous", _suggested(ranked, home), query)
    if not any(m.score > best.score - CLEAR_MARGIN for m in ranked[1:]):
        return Resolution("found", tuple(ranked[:MAX_CHOICES]), query)
    close = [m for m in ranked if m.score >= best.score - SUGGESTION_SPAN]
    return Resolution("ambiguous", _suggested(close, home), query)


def _decide_fuzzy(matches: list[PlaceMatch], home: str | None, query: str) -> Resolution:
    """Found only when clearly best (or clearly best at home); else offer close choices."""
    if not matches:
        return Resolution("not_found", (), query)
    ranked = _ranked(matches, home)
    best = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    home_rivals = [m for m in ranked[1:] if m.commune.dept == home]
    at_home = (
        home is not None
        and best.commune.dept == home
        and best.score >= HOME_FUZZY_SCORE
        and not any(m.score > best.score - CLEAR_MARGIN for m in home_rivals)
    )
    clear = best.score >= CONFIDENT_SCORE and runner_up < best.score - CLEAR_MARGIN
    if at_home or clear:
        return Resolution("found", tuple(ranked[:MAX_CHOICES]), query)
    close = [m for m in ranked if m.score >= best.score - SUGGESTION_SPAN]
    return Resolution("ambiguous", _suggested(close, home), query)
