"""Runtime gazetteer of French communes: name / postal code / INSEE resolution, text spotting, GPS.

Data: ``knowledge/communes.csv.gz``, built by ``scripts/build_gazetteer.py`` (see
``knowledge/ATTRIBUTION.md``). Matching follows the measured recommendations of the project's
gazetteer note: an exact lookup on a folded key first, then rapidfuzz ``fuzz.ratio`` for real
typos, the deployment (home) département first, and "ambiguous" rather than a silent guess.
"""

from __future__ import annotations

import bisect
import csv
import gc
import gzip
import io
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

from bot.text import fold

_HEADER = "insee,name,postal_codes,dept,region,epci,population,lat,lon,type,parent,coord_src"
DEFAULT_PATH = Path(__file__).parents[1] / "knowledge" / "communes.csv.gz"
EARTH_RADIUS_KM = 6371.0088

FUZZY_CUTOFF = 75.0  # below this a fuzzy candidate is not even suggested
CONFIDENT_SCORE = 90.0  # a fuzzy match this good, and clearly ahead, is taken as found
CLEAR_MARGIN = 4.0  # "clearly ahead": more than this many points above the next candidate
HOME_FUZZY_SCORE = 80.0  # the best match in the home département may be taken from here
SUGGESTION_SPAN = 10.0  # suggestions stay within this many points of the best score
TEXT_FUZZY_SCORE = 80.0  # a fuzzy near miss of a big town in a free-text message
MAX_TEXT_FUZZY = 4  # fuzzy searches per message, each ~1-5 ms
TEXT_FOUND_SCORE = 85.0  # a clear fuzzy match of a smaller commune in a free-text message
MAX_CHOICES = 5
BIG_TOWN = 20_000  # towns this big are recognised after a preposition even if also a word
DOMINANT_FACTOR = 10  # a homonym this many times bigger than the next one is taken as meant
DOMINANT_MIN = 5_000  # ... if it is a town of at least this population
GRID_DEG = 0.2  # cell size of the nearest() grid, in degrees

_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_ORDINAL = re.compile(r"\b(\d{1,2}) ?(?:e|er|ere|eme|ieme|em|me)\b")
_ARRONDISSEMENT = re.compile(r"^(.*) (\d{1,2})(?:er|e) arrondissement$")
_DEPT_SUFFIX = re.compile(r"^(.+?) (\d{2,3}|2a|2b)$")
_WORD = re.compile(r"[^\W_]+")
_NON_ALNUM_LINES = re.compile(r"[^a-z0-9\n]+")
_ABBREVIATED = re.compile(r"\b(?:st|ste|sts|stes)\b")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_CODE = re.compile(r"^(?:\d{5}|2[ab]\d{3})$")


def _words(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated string."""
    return frozenset(text.split())


# Place prepositions and verbs after which a commune name is expected.
_STRONG_TRIGGERS = _words(
    "habite habites habitons habitez habitent jhabite vis vit vivons vivez vivent jvis "
    "reside residons domicile domicilie domiciliee"
)
_WEAK_TRIGGERS = _words("a au aux vers sur pres de d du dans en cote proche")
# Typos are forgiven only after these: "en panne" must not become Pannes, "en lecture" Lectoure.
_FUZZY_TRIGGERS = _words("a au aux vers sur pres cote proche") | _STRONG_TRIGGERS
_ARTICLES = _words("le la les l")
_CONTRACTED = {"au": "le", "du": "le", "aux": "les", "des": "les"}
_LEADING_FUNCTION_WORDS = _words("le la les l du de des d en au aux a")


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


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def place_key(text: str) -> str:
    """Folded matching key: `fold`, St/Ste expanded, ordinals "15ème"/"1er" written "15e"/"1e"."""
    words = [_ABBREVIATIONS.get(word, word) for word in fold(text).split()]
    return _ORDINAL.sub(r"\1e", " ".join(words))


def _name_keys(names: Sequence[str]) -> list[str]:
    """`place_key` of many names from the data at once, in bulk C-level string operations.

    Equal to `[place_key(n) for n in names]` for every name of the gazetteer (tested), and
    about ten times faster, which keeps `Gazetteer.load` quick.
    """
    text = unicodedata.normalize("NFKD", "\n".join(names).lower().translate(_LIGATURES))
    text = text.encode("ascii", "ignore").decode("ascii")
    text = _NON_ALNUM_LINES.sub(" ", text)
    text = _ABBREVIATED.sub(lambda m: _ABBREVIATIONS[m.group()], text)
    text = _ORDINAL.sub(r"\1e", text)
    return [line.strip() for line in text.split("\n")]


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


@dataclass(frozen=True, slots=True)
class _Token:
    key: str
    start: int
    end: int


class _KeyPool:
    """Keys sorted by length, so a fuzzy search only scans keys of a compatible length."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = sorted(set(keys), key=lambda k: (len(k), k))
        self.lengths = [len(k) for k in self.keys]

    def search(self, key: str, limit: int = 8) -> list[tuple[str, float]]:
        # ratio >= 75 needs the shorter string to be at least 60% of the longer one.
        lo = bisect.bisect_left(self.lengths, math.ceil(len(key) * 0.6))
        hi = bisect.bisect_right(self.lengths, len(key) / 0.6)
        found = process.extract(
            key,
            self.keys[lo:hi],
            scorer=fuzz.ratio,
            processor=None,
            limit=limit,
            score_cutoff=FUZZY_CUTOFF,
        )
        return [(choice, float(score)) for choice, score, _ in found]


class Gazetteer:
    """In-memory index of communes; build it once with `Gazetteer.load()`."""

    def __init__(
        self,
        rows: dict[str, list[str]],
        aliases: dict[str, str],
        names: dict[str, list[tuple[str, str]]],
        arm_parent: dict[str, str],
        dept_names: dict[str, str],
    ) -> None:
        self._rows = rows  # INSEE → CSV row, for COM and ARM; Commune values are made lazily
        self._made: dict[str, Commune] = {}
        self._aliases = aliases
        self._names = names
        self._arm_parent = arm_parent
        self._dept_names = dept_names
        self._depts = frozenset(row[3] for row in rows.values())

    def _commune(self, insee: str) -> Commune:
        """The Commune of a COM/ARM code, made from its row on first use (keeps load fast)."""
        commune = self._made.get(insee)
        if commune is None:
            commune = self._made[insee] = _commune_from_row(self._rows[insee])
        return commune

    def warm_up(self) -> None:
        """Build the secondary indexes now rather than on first use (they take ~0.3 s).

        Call it at start-up in a long-running bot so the first user does not wait.
        """
        with _gc_paused():
            for index in ("_sorted_keys", "_all", "_by_dept", "_postal", "_epci", "_grid"):
                getattr(self, index)

    @cached_property
    def _sorted_keys(self) -> list[str]:
        return sorted(self._names)

    @cached_property
    def _all(self) -> _KeyPool:
        return _KeyPool(self._names)

    @cached_property
    def _by_dept(self) -> dict[str, _KeyPool]:
        by_dept: dict[str, list[str]] = defaultdict(list)
        for key, entries in self._names.items():
            for dept in {self._rows[insee][3] for insee, _ in entries}:
                by_dept[dept].append(key)
        return {dept: _KeyPool(keys) for dept, keys in by_dept.items()}

    @cached_property
    def _postal(self) -> dict[str, tuple[str, ...]]:
        return _postal_index(self, self._arm_parent)

    @cached_property
    def _epci(self) -> dict[str, list[Commune]]:
        members: dict[str, list[Commune]] = defaultdict(list)
        for commune in self:
            if commune.epci:
                members[commune.epci].append(commune)
        return dict(members)

    @cached_property
    def _grid(self) -> dict[tuple[int, int], list[tuple[Commune, float, float]]]:
        cities = set(self._arm_parent.values())
        return _build_grid(c for c in self if c.insee not in cities)

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

    def communes_of_epci(self, siren: str) -> tuple[Commune, ...]:
        """Member communes (and arrondissements) of an EPCI, by SIREN."""
        return tuple(self._epci.get(siren.strip(), ()))

    def nearest(self, lat: float, lon: float) -> Commune | None:
        """The commune whose point (mairie or centre) is nearest; arrondissements for PLM."""
        row, col = _cell(lat, lon)
        best: tuple[float, Commune] | None = None
        cell_km = GRID_DEG * 111.2 * max(math.cos(math.radians(lat)), 0.05)
        for ring in range(0, 60):
            for key in _ring_cells(row, col, ring):
                for commune, clat, clon in self._grid.get(key, ()):
                    dist = distance_km(lat, lon, clat, clon)
                    if best is None or dist < best[0]:
                        best = (dist, commune)
            if best is not None and best[0] <= ring * cell_km:
                break
        return best[1] if best else None

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
        found = self._resolve_name(key, home, text)
        if found is not None:
            return found
        hint = self._split_dept_hint(key)
        if hint is not None:
            name_key, dept = hint
            scoped = self._resolve_name(name_key, dept, text, only_dept=dept)
            return scoped or self._resolve_fuzzy(name_key, dept, text, only_dept=dept)
        return self._resolve_fuzzy(key, home, text)

    def find_in_text(self, text: str, home_departement: str | None = None) -> Resolution | None:
        """A commune mentioned in a free-text message, or None; ordinary words are not places."""
        home = _normal_dept(home_departement)
        tokens = _tokenize(text)
        for token in tokens:
            if _CODE.match(token.key):
                found = self.resolve(token.key, home)
                if found.status != "not_found":
                    return Resolution(found.status, found.candidates, text[token.start : token.end])
        starts = _trigger_starts(tokens)
        return (
            self._whole_message(text, tokens, home)
            or self._exact_after_triggers(text, tokens, starts, home)
            or self._exact_anywhere(text, tokens, home)
            or self._fuzzy_after_triggers(text, tokens, starts, home)
        )

    # ------------------------------------------------------------------ internals: text

    def _exact_after_triggers(
        self, text: str, tokens: list[_Token], starts: list[_Start], home: str | None
    ) -> Resolution | None:
        for start in starts:
            for end in range(min(len(tokens), start.index + 4), start.index, -1):
                words = " ".join(t.key for t in tokens[start.index : end])
                keys = [f"{start.article} {words}", words] if start.article else [words]
                capitalized = _capitalized(text, tokens[start.index : end])
                for key in keys:
                    if (key not in self._names and not home) or not self._plausible(
                        key, capitalized
                    ):
                        continue
                    dept = _dept_after(tokens, end, self) or home
                    found = self._resolve_name(key, dept, key, any_prefix=False)
                    if found is not None:
                        return _with_query(found, text, tokens[start.index], tokens[end - 1])
        return None

    def _exact_anywhere(
        self, text: str, tokens: list[_Token], home: str | None
    ) -> Resolution | None:
        for size in (4, 3, 2, 1):
            for start in range(0, len(tokens) - size + 1):
                key = " ".join(t.key for t in tokens[start : start + size])
                if key not in self._names:
                    continue
                if not (_plausible_anywhere(key) or self._big_town_at_home(key, home)):
                    continue
                dept = _dept_after(tokens, start + size, self) or home
                found = self._resolve_name(key, dept, key)
                if found is not None:
                    return _with_query(found, text, tokens[start], tokens[start + size - 1])
        return None

    def _fuzzy_after_triggers(
        self, text: str, tokens: list[_Token], starts: list[_Start], home: str | None
    ) -> Resolution | None:
        attempts = 0
        for start in starts:
            if not start.fuzzy:
                continue
            for end in range(start.index + 1, min(len(tokens), start.index + 3) + 1):
                words = [t.key for t in tokens[start.index : end]]
                if not _fuzzy_worthy(words) or attempts >= MAX_TEXT_FUZZY:
                    break
                attempts += 1
                key = " ".join(words)
                found = self._resolve_fuzzy(key, home, key)
                if _confident_in_text(found):
                    return _with_query(found, text, tokens[start.index], tokens[end - 1])
        return None

    def _whole_message(
        self, text: str, tokens: list[_Token], home: str | None
    ) -> Resolution | None:
        """A short message that is just a name ("Château-Chinon") is taken as an answer."""
        if not tokens or len(tokens) > 4:
            return None
        key = " ".join(t.key for t in tokens)
        if not self._plausible(key, _capitalized(text, tokens)):
            return None
        found = self._resolve_name(key, home, key, any_prefix=False)
        return _with_query(found, text, tokens[0], tokens[-1]) if found else None

    def _plausible(self, key: str, capitalized: bool) -> bool:
        """Whether an exact name after a place preposition is meant as a place.

        A name that is also an ordinary word ("ville", "rue", "orange") counts only when
        written with a capital letter, or when it is a big town ("à Orange", "à Tours").
        """
        content = _content_words(key)
        if not content or (len(content) == 1 and content[0] in _GRAMMAR):
            return False
        if capitalized or len(content) > 1 or content[0] not in _NOT_PLACES:
            return True
        entries = self._names.get(key, [])
        biggest = max((self._commune(insee).population or 0 for insee, _ in entries), default=0)
        return biggest >= BIG_TOWN

    def _big_town_at_home(self, key: str, home: str | None) -> bool:
        """A big town of the home département is meant even when its name is also a word
        ("garage solidaire muret" in Haute-Garonne)."""
        content = _content_words(key)
        if home is None or len(content) != 1 or len(content[0]) < 4 or content[0] in _GRAMMAR:
            return False
        return any(
            self._rows[insee][3] == home and (self._commune(insee).population or 0) >= BIG_TOWN
            for insee, _ in self._names.get(key, [])
        )

    # ------------------------------------------------------------------ internals: names

    def _matches(self, key: str, score: float, only_dept: str | None = None) -> list[PlaceMatch]:
        entries = self._names.get(key, [])
        found = [PlaceMatch(self._commune(insee), score, name) for insee, name in entries]
        return [m for m in found if only_dept is None or m.commune.dept == only_dept]

    def _prefix_matches(self, key: str, dept: str | None) -> list[PlaceMatch]:
        """Names that start with the whole query ("charleville" → "charleville mezieres")."""
        if len(key) < 4 or key in ("saint", "sainte"):
            return []
        prefix = key + " "
        index = bisect.bisect_left(self._sorted_keys, prefix)
        found: list[PlaceMatch] = []
        for name_key in self._sorted_keys[index : index + 60]:
            if not name_key.startswith(prefix):
                break
            found += self._matches(name_key, 90.0, dept)
        return found if 0 < len({m.commune.insee for m in found}) <= MAX_CHOICES else []

    def _resolve_name(
        self,
        key: str,
        home: str | None,
        query: str,
        only_dept: str | None = None,
        any_prefix: bool = True,
    ) -> Resolution | None:
        """Exact name; else the start of a longer name ("Charleville" → Charleville-Mézières).

        A name of the home département that starts with the query wins over exact homonyms
        elsewhere; a prefix anywhere is tried only when nothing matches exactly.
        """
        exact = _dedup(self._matches(key, 100.0, only_dept))
        if home and not any(m.commune.dept == home for m in exact):
            home_prefix = _dedup(self._prefix_matches(key, home))
            if home_prefix:
                found = _decide_exact(home_prefix, home, query)
                more = (*found.candidates, *_present(exact, home))
                return Resolution(found.status, more[:MAX_CHOICES], query)
        if not exact and only_dept is None and any_prefix:
            exact = _dedup(self._prefix_matches(key, None))
        if not exact:
            return None
        return _decide_exact(exact, home, query)

    def _resolve_fuzzy(
        self, key: str, home: str | None, query: str, only_dept: str | None = None
    ) -> Resolution:
        scored: dict[str, float] = {}
        pools = [] if only_dept else [self._all]
        if home and home in self._by_dept:
            pools.append(self._by_dept[home])
        for pool in pools:
            for name_key, score in pool.search(key):
                scored[name_key] = max(score, scored.get(name_key, 0.0))
        matches = [m for k, s in scored.items() for m in self._matches(k, s, only_dept)]
        return _decide_fuzzy(_dedup(matches), home, query)

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
            return self._resolve_name(rest, home, query) or self._resolve_fuzzy(rest, home, query)
        if not matches:
            return Resolution("not_found", (), query)
        if len(matches) == 1:
            return Resolution("found", tuple(matches), query)
        return Resolution("ambiguous", _present(matches, home), query)

    def _split_dept_hint(self, key: str) -> tuple[str, str] | None:
        """ "saint denis 93" → ("saint denis", "93"); "saint denis la reunion" → (…, "974")."""
        found = _DEPT_SUFFIX.match(key)
        if found and found.group(2).upper() in self._depts:
            return found.group(1), found.group(2).upper()
        words = key.split()
        for size in range(1, min(4, len(words) - 1) + 1):
            dept = self._dept_names.get(" ".join(words[-size:]))
            if dept is not None:
                return " ".join(words[:-size]), dept
        return None

    def dept_code(self, word: str) -> str | None:
        """A département code if `word` is one ("93", "2a"), else None."""
        code = word.upper()
        return code if code in self._depts else None


# ---------------------------------------------------------------------- module helpers


def _parse(
    path: Path,
) -> tuple[dict[str, list[str]], dict[str, str], dict[str, list[tuple[str, str]]], dict[str, str]]:
    """Rows of communes (COM, ARM), former-code aliases, the name index and ARM → city."""
    communes: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    arm_parent: dict[str, str] = {}
    named: list[tuple[str, str, str]] = []  # (name as written, INSEE it designates, type)
    for row in _read_rows(path):
        insee, name, kind, parent = row[0], row[1], row[9], row[10]
        if kind in ("COM", "ARM"):
            communes[insee] = row
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


def _commune_from_row(row: list[str]) -> Commune:
    insee, name, postal, dept, region, epci, population, lat, lon = row[:9]
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
    named: Sequence[tuple[str, str, str]], communes: dict[str, list[str]]
) -> dict[str, list[tuple[str, str]]]:
    """Folded key → [(INSEE of the COM/ARM it designates, name as written)], no duplicates."""
    index: dict[str, list[tuple[str, str]]] = {}
    name_keys = _name_keys([name for name, _, _ in named])
    for (name, insee, kind), name_key in zip(named, name_keys, strict=True):
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


def _postal_index(
    communes: Iterable[Commune], arm_parent: dict[str, str]
) -> dict[str, tuple[str, ...]]:
    """Postal code → INSEE codes; an arrondissement replaces its city for its own codes."""
    index: dict[str, list[str]] = defaultdict(list)
    for commune in communes:
        for code in commune.postal_codes:
            index[code].append(commune.insee)
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
                first, _, rest = key.partition(" ")
                if first in _ARTICLES and rest:
                    names[rest] = row["code"]
    return names


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / GRID_DEG), math.floor(lon / GRID_DEG))


def _build_grid(
    communes: Iterable[Commune],
) -> dict[tuple[int, int], list[tuple[Commune, float, float]]]:
    grid: dict[tuple[int, int], list[tuple[Commune, float, float]]] = defaultdict(list)
    for commune in communes:
        if commune.lat is not None and commune.lon is not None:
            grid[_cell(commune.lat, commune.lon)].append((commune, commune.lat, commune.lon))
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
    return Resolution("ambiguous", _present(close, home), query)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for word in _WORD.finditer(text):
        key = place_key(word.group())
        if key:
            tokens.append(_Token(key, word.start(), word.end()))
    return tokens


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a place name may start, after which trigger, with the article a contraction hides."""

    index: int
    article: str  # "le" after "au"/"du" ("au Mans" → "le mans"), "les" after "aux"/"des"
    fuzzy: bool = True  # whether a misspelt name may follow this trigger


def _trigger_starts(tokens: list[_Token]) -> list[_Start]:
    starts: list[_Start] = []
    for index, token in enumerate(tokens):
        if token.key not in _STRONG_TRIGGERS and token.key not in _WEAK_TRIGGERS:
            continue
        start, previous = index + 1, token.key
        strong = token.key in _STRONG_TRIGGERS
        while strong and start < len(tokens) and tokens[start].key in _WEAK_TRIGGERS:
            previous = tokens[start].key
            start += 1
        if start < len(tokens):
            fuzzy = strong or previous in _FUZZY_TRIGGERS
            starts.append(_Start(start, _CONTRACTED.get(previous, ""), fuzzy))
    return starts


def _dept_after(tokens: list[_Token], end: int, gazetteer: Gazetteer) -> str | None:
    """A département code written right after a name ("Saint-Denis 93")."""
    return gazetteer.dept_code(tokens[end].key) if end < len(tokens) else None


def _with_query(found: Resolution, text: str, first: _Token, last: _Token) -> Resolution:
    return Resolution(found.status, found.candidates, text[first.start : last.end])


def _capitalized(text: str, tokens: Sequence[_Token]) -> bool:
    """Whether a word of the span is written with a capital, as place names usually are."""
    return any(text[t.start].isupper() for t in tokens)


def _confident_in_text(found: Resolution) -> bool:
    """A fuzzy match in free text: clearly found, or a near miss of a big town ("nanci")."""
    if not found.candidates:
        return False
    best = found.candidates[0]
    if found.status == "found" and best.score >= TEXT_FOUND_SCORE:
        return True
    return best.score >= TEXT_FUZZY_SCORE and (best.commune.population or 0) >= BIG_TOWN


def _content_words(key: str) -> list[str]:
    words = key.split()
    while words and words[0] in _LEADING_FUNCTION_WORDS:
        words.pop(0)
    return words


def _plausible_anywhere(key: str) -> bool:
    """Outside a place preposition: multi-word names, or rare words of five letters or more."""
    content = _content_words(key)
    if len(content) > 1:
        return any(word not in _NOT_PLACES for word in content)
    return (
        len(content) == 1
        and len(content[0]) >= 5
        and content[0] not in _NOT_PLACES
        and content[0] not in _GRAMMAR
        and not content[0].isdigit()
    )


def _fuzzy_worthy(words: list[str]) -> bool:
    """Only words that are not ordinary vocabulary are worth a fuzzy search."""
    content = _content_words(" ".join(words))
    return bool(content) and all(
        len(w) >= 4
        and w not in _NOT_PLACES
        and w not in _GRAMMAR
        and w not in _COMMON
        and not w.isdigit()
        for w in content
    )


# ---------------------------------------------------------------------- word lists

# Function words: never a place on their own, even when a commune bears the name ("Y", "Eu").
_GRAMMAR = _words(
    """
    a ai as au aux avec bien ca ce ces cet cette chez comme d dans de des du elle en est et eu
    ici il j je l la le les leur lui m ma mais me mes moi mon n ne ni nos nous on ou par pas
    plus pour qu que qui s sa sans se ses si son sur t ta te tes toi ton tout tu un une vers
    vos vous y
    """
)

# Everyday and domain words (work, training, benefits, SMS spelling) that a fuzzy search must
# never turn into a commune.
_COMMON = _words(
    """
    accompagnement activite actuellement adresse aide aider aides aimerais alors allocation
    ameliorer ancien annee annees apprentissage argent association atelier attestation aujourd
    aussi autre autres avant avoir bafa bateau batiment beaucoup besoin bonjour bonsoir boulot
    boutique bureau cafe caisse candidature carte centre chantier chauffeur cherche chercher
    chomage chose cinq citoyen commerce comment compte conduire conseil conseiller contrat
    cooperative coucou cours creation cuisine cv demain demande depuis deux devenir diplome
    dossier droit droits ecole emploi employeur encore enfant enfants entreprise entretien
    envie espace essayer etre etudes faire famille femme formation france frere galere garage
    garde gens grand handicap heure heures homme insertion interim jardin jeune jeunes jour
    jours logement loyer lycee madame maintenant maison malade mairie manger menage merci metier
    mission mobilite moins monsieur moto niveau nouveau numero orientation papiers parce parler
    partir passer payer permis personne petit peut peux place plein pole possible pourquoi
    pouvoir premier prime projet quand quartier quoi rendez reponse restaurant retraite revenu
    salut sante savoir semaine service services seul seule social sociale solidaire solidarite
    souhaite stage structure suis taff taxi temps tous travail travailler trouver trucs vais
    vente veux ville voiture voudrais vraiment zone jcherche chui jsuis jveux jpeux svp stp mdr
    usine urgence fixe caravane soudeur soudure boulangerie boulanger couture cuisinier
    menuisier plombier peinture coiffure vendeur vendeuse caissiere magasin hopital clinique
    prison foyer colocation campagne montagne banlieue centre gare mer plage
    """
)

# First names that are also commune names: in a message they are far more often people.
_FIRST_NAMES = _words(
    """
    adrien agnes alain albert alexandre alice amand andre anne antoine arnaud aubin audrey
    augustin aurelien benoit bernard bruno camille catherine cecile celine charles christian
    christophe claire claude clement colette damien daniel david denis didier dominique eloi
    emile emilie eric etienne fabrice florent florentin francis francois frederic gabriel
    genevieve georges gerard germain germaine gilbert gilles guillaume helene henri hugo
    isabelle jacques jean jeanne jerome joseph jules julie julien julienne justin laurent lea
    leon louis louise luc lucas lucie marc marcel marguerite marie martin mathieu maurice
    michel nicolas noel olivier pascal patrick paul philippe pierre quentin raymond remi rene
    richard robert roger romain sebastien simon sophie stephane sylvain thierry thomas valentin
    vincent xavier yves
    """
)

# Words of a French lexicon that are also words of commune names (generated once from the
# Debian `wfrench` word list intersected with the gazetteer's name words; "saint" excluded).
_LEXICON_IN_NAMES = _words(
    """
    a abbatial abbaye abbe abbesse abeille abondance abondant abries ac accueil achard achards
    acon acres adresse agenais agnat agneaux aigle aigre aigues aiguille aiguiller aiguilles
    aiguillon ail ailette aillant aillas ailles aime air aire aires aisy alaise albanais
    albigeois ales aligne alise allas allegre alles alleux allez alliat allier allies allons
    alloue alpes altier amadou amant ambon ambres ame ames amienois amont amour amure anche
    ancre andouille ange anges angle angles anglet angoisse angoumois annelles ans anse anses
    ante aout appelle appelles apre aquilin aramon arboras arbres arc arceau arche arches
    archeveque archipel arcon arcons arcs ardentes ardoise arene ares argent argentan argentat
    argentine arlesienne armagnac armes aronde arque arques arrentes arrets arrive
    arrondissement arroses ars art arts aspe asque asse assis athee attaques au aubaine aube
    aubette aubiers aubin aubois aucun auge augerons auges augustin aulx aumone aunes aurions
    aurons autels automne autruche auvent aux aval avant ave aven aveux avez avion aviron
    avirons avoine avoir avril axat ay azur baby bac baccarat bachant bachas bache bachot bacle
    baffe baguer bagues baie baignes bail baille baillon baillons bain bains bais baise baleine
    baleines ballee ballon ballons ballots ban banat bancs banne bannes bannieres bans bar
    barbant barbas barbe barcelonnette bard bardais barde bardes barges barils baron baronnie
    barques barrais barras barre barres barrez bars bas basse basses basset bassets bassins
    bastide bastille bat bataille batie baties baton batons bats baud bauge bauges baume baux
    bavent bayas baye bayons beat beau beaujolais beaupre beaux bec begard begues bel belle
    belles bellot belon belvedere benet benigne benin benite benoit benoite bergeres bernard
    berne bernes besace besaces besson bessons beton bettes bey biche biches bidon bief bielle
    bien biere bievre bigot bille billot binas bine bizou bizous blanc blanche blancs ble bles
    blet bleu blond bocage boesse boeuf boeufs bois boisseau boisseaux bon bondons bonhomme
    bonne bonnes bonnet bons bora bord bordas borde bordeaux bordel bordes bords boree borne
    bornes bort bosquets bosse bossee bossus bouc boucau bouchage boucherie bouchon boudes boue
    bouee bouge bouges bougon bouillant bouillante bouille bouillie bouillon boulange boule
    boulin boulon boulonnais boulot bouquet bourbon bourbonnais bourdon bourdonne bourdons bourg
    bourgogne bourgs bourguignon bourguignons bourre bourse boursieres bout bouteille bouteilles
    bouton boutonne bouvet brabant bran branche brancher branches brandon bras brasseuse brave
    braye breche breches breles bremes bren breteche breton brette brettes breves breviaires
    bride brides brie briffons brigue brillant brin bris broc brocs brosse brosses brou brouilla
    brousse brout broye broyes bru bruant bruche bruisse brulais brule brulee brunet brusque
    bruyere bruyeres bu bue buire buis buisson buissons bulle bulles bure burelles buron bus
    busque butin buttant cabanasse cabanes cabas cable cabris cagnes cagnotte cailla caille
    cailles caillot cailloux caisson calais cales calez calvados camarade cambe cambes cambrai
    came camelle camembert camp campagne campes camps canal canari cancale canche cannat canne
    cannelle canner cannes canon canton cap capelle captieux captif carcans cardan cardinal
    carne carnet carreau carrieres carry cars cascade cascades case cases casse casses cassis
    casson castel castels castine castres cause causse causses cavaillon cavalerie caves cayeux
    ce ceignes cele celle celles cellier celliers cendras cendre cene cent centenier centres
    cerbere cercles cercueil cerf cerfs cerise cerises cerisiers cesse cesseras cette chablais
    chablis chaine chainee chaise chaises chambertin chambre champ champagne champenoise
    champenoises champis champs chance change chanoines chant chanteau chanterelle chantes
    chanteurs chantilly chantre chapeau chapelle chapelles chapitre charbonnat charbonnier
    charbonnieres charge charite charme charmee charmes charron chars chartreuse chartreux
    chartrier chas chassant chasse chasselas chasses chat chataigneraie chatain chateau
    chateaubriant chateaux chatelain chatelaine chatre chatres chatte chaudes chaudiere chaudron
    chaufour chaume chaumes chaussee chauve chaux chef chemin cheminas cheminot cheminots chene
    chenes chenevieres chenille chenu cher cheres cheris cherre chetif chetive cheval chevalet
    chevaline chevelu chevennes chevillard cheville chevre chevreaux chevres chevreuil chevrier
    chevrieres chiche choisies choux choye chretien christ ciel cierge cierges cieux cigogne
    cinglais cinq cintrat cintre cire cires cirieres ciron citerne clair clam clan clans clapier
    clapiers claude clave clavette claviers clayette clef clefs clement clercs clisse clocher
    clochers cloitre clonas clos cloue cluse cluses coat cochere coeur cogna cognac cognat coin
    coinces coings collat colle collegien collet colline colombe colombes colombier colombiers
    colombine colonel colonne colons coltines combe combes comblanchien combles commanderie
    commune compas comporte compote comptes comtal comte comtesse concoures conde condom confort
    conge conie conne conques conquet cons conseillere consolation constant contamine contamines
    conte contes contre contres coq coquet coquette coquille cor corail corbeilles corbieres
    cordelle cordes cordiers cordon cordonnet cornac cornant cornas corne corneille corneilles
    cornet cornier cornus coron corps corvees cosse cote coteau coteaux cotes coti cottes
    couarde couches coudes coudons coudrais coudre couleuvre coulomb coulombs coulommiers
    coupelle cour courant courbe courbes courbette couronne cours course court courtes courtois
    coutais coutant couture coutures couvains couve couverte cramant cran crans creances creche
    creches creneaux crepin crepon cressonniere crete creuse creux crevant crique crise crisse
    croise croix crosses crottes croutes cubas cuillere cuire cuis cuise cula cultures cure
    cures cuvat cuve cuves cuvier d damas dame dames dan dangers dardez dauphin dauphine de
    debat debats degre demange deme demi demie denier denis depeint der derriere des desert
    deserts desir desirat desire desoeuvre dessous dessus detroit deuil deux devant deviat
    devise diamant diane dieu digne disse dit dive doigt dol dole dolent dolmen dom domaines don
    donjon dorat dore doree dorees dos douai double douce doue douelle douillet douve doux douze
    doyen drache dragon drain drap drenne dry du duc due dumes dunes duras eau eaux ecaille
    echalas echarnant echelle echelles eclaire eclaires eclose ecluse ecluses eclusier ecole
    ecorces ecorches ecot ecu ecueil ecuelle ecuelles ecuisses ecuras ecurat ecurie eglise
    eglises elan elbeuf elier elise elle embrun en encherie encontre engins entier entrains
    entre entrees entrelacs environs epannes epargnes eparses epiais epierre epiez epinant
    epinard epine epineuse epineux equipee erables erigne erre es escale escales esches escot
    esperance espere espoir esprit essai essarts esse est estampes estivaux et etable etables
    etain etais etalon etampes etang etangs etape etoile etrange etroit eu eus eustache evente
    eveque exempt exil fa faches fagne falaise fanais fargues faucher faucon faute faux feins
    felicite felines felon fenouillet fer ferme ferment fermes fermete ferrat ferre ferree
    ferres ferret ferreux fete feu feuilla feuille feuillee feuilles feule feux feves fiacre
    fidele fief fieffes fiefs fiel fier fieu fieux fille fins fiole fion flat fleche fleurat
    fleure fleurie fleurs florence florentin flots flotte foc foi fol folie folies folles fonds
    font fontaine fontainebleau fontaines fontes fonts forain forcats force forestiere foret
    forets forez forge forges fors fort forteresse fortin forts fosse fosses fougerais fougere
    fougeres fouilleuse foulon four fourches fourneaux fourrier fours fox frais franc francais
    francaise francs frene frenes freres fretin frette frettes frise froid fromental front
    frontignan fronton fuisse fumas fume furieuse futaie gaillard gaillarde gal galant galante
    gambier gap garat gardais garde gardes gardon gare garenne garennes garons garrigues gars
    gatine gaucher gaude gaulois gave gay gaz gelais gelat gemeaux gemme gemmes genas genat gene
    genes genet genets genettes genevois genies geniez genou gere germain germaine germaines
    germe germer gerons gesse geste giraumont girolles giron gironde girons givre glacerie
    glaciere glaire gland glandage glane glanes gond gonds gorges gosier gosse gouet goule
    goulet goupil gousse gout gouts gouttieres gouvernes goyave grace graces grain grand grande
    grandes grands grange granges granits gras grasse grau graux grave gravelle graves gray gree
    greez greges grelot grenade grenant grenier grenouilles gres greve greves grignon grillon
    grimaud grisolles grives gros groseilles grottes grue grues gruge gue gueret guerets guette
    gueux guiche guignes guillaume guillon guise h habit habitants haie haies haleine halles
    hameau hameaux han hanches haras hard hareng harengere hauban haussez haut haute hautes
    hauts havre hem henne henry herbasse herbe herbiers heres herisson hermes hermine heron
    heureux hilaire home homme hommes hongre honorat honore hopital hopitaux hors hotel
    hotellerie houat houblonniere houdan houilles houlette housse housseras housset houx huez
    huile huis huisserie humes hune hure i if ifs ile iles indien innocence innocent irai irais
    ire isola issus jacques jalons jard jardin jarret jars jas jasses jean jeu jeune jeux job
    joie joli jolie jonc jonchere jongleurs joseph joue jouet jour jours joute joutes joyeuse
    joyeux juger juif juifs julien julienne jumeaux jumel jumelles juntes jure jury kirsch
    kremlin l la labrit lac lacasse lache lacs laguiole laines lais laitiers laize lama lamee
    lance lancon landau lande landerneau landes lange langeais lanterne laps las lasse lattes
    laure laurent lauze lavis laye layon le leches legal lege leger lemmes lent lentilles lento
    leonard les lettre lettree leu levas levee levees leves levier lez liards lias libre lie
    liege lier lierre lies liesse lieu lieue lieux liez ligne lilas limas lime limoges limon
    limons lin linge linotte lion lionne lions lire lisse lisses lit livarot livet livre loche
    loches lods loge loges loir lombard londres long longeron longes longue longues lorette
    lorrain lorraine lorry lot louches loue louer loueuse lougres louis loup loupe loupes loups
    lourde lourdes loures loutre louvent louvet loyer lu lue luisant lumes lunaire lune lus
    lusse lutter lux luxe luzerne lyre lys m mache machine maclas macon maconnaise madame
    madeleine madre mage magenta mages magnan magnant magnas magnat magne maillas maillat maille
    maillet maillot maillots main maire maison maisonnettes maisons male maltat mana mande
    manoeuvre manoir mans manse mantes manuel marais marc marchais marche marches mare marechal
    marennes marges marguerite maria marie maries marigot marin marines mariol marions marne
    marnes maroilles marque marques marquette marquise marre marron mars marsault martel martial
    martin martinet martre martres martyre mas massais massas massat mathieu mathurin maure
    maures mauves maux max maxime maye meaux medis medoc mela mele melezes meme menat mene menez
    mens menton menus mer mercier mercure mere merle merles mers messe messieurs metairies
    meules meulieres meures meursault meuse mezieres mi mieux mignon migre milieu millas mimosas
    minerve mines minier minot mire mirepoix miroir miroirs misse mitre mixe moeres moeurs moine
    moines moire moisson moita mole molene molette molles mollettes mollo monastere monceau
    monceaux monial monnaie mont montagne montagnes montant montat monte montjoie montmorency
    montoir monts montueux more morillon morne mort morte mortes mortiers motel motte mouchard
    mouche mouches mouettes mouille moule moules mouliere moulieres moulin moulines moulinet
    moulins moulons moult mouriez mouron mousse mousson moutier mouton moutonne moye moyen mue
    mulatre munster mur murat mure mures muret murette murs mus nages nais naives national
    nattages ne neant nectaire nef neons neuf neufchatel neufs neuve neuves nicodeme nids nie
    nielles nivelle noble nobles noce noel noeud noeuds noir noire nom nord normand normande
    normee norrois notre noue noues nouvel nouvelle noves noyant noye noyer noyers nuits o
    observatoire ocean ocre oeuf oie oiseau oison olive olivet oliviers olle ombree ombres omet
    ondes ongles onzain opportune or oraison orange oree orge orgelet orges orgueil orgueilleuse
    orgueilleux orgues orin ormeaux ormes orne ornes orques ors os osier ost ota ouche ouest
    ourdis ours oust ouste outille outre outremer ovin oye pachas pageas paille paillet pair pal
    palais palis palisse palmas palme palud palus panat pancrace pannes pantin pape papion
    parade parc parce parcs pardon pareage parent paris parisis parois paroisse paroisses pars
    pas passa passage passais passavant pate pater paterne patrice patrouille patte paulien
    paumes pauvre pauvres pavant pavie pavillon pavillons pays pe peage pean peille peintre
    peintures pelerin pelouse pende pendit pendue pene penil penne percee perche pere perennes
    peri perigourdins perigueux perles perron pers persan pertes pertuis pesse petit petite
    petites peuple peux peze phare pian piano pie pied pierre pierres pietat pieux pila pile
    piles pilles pilote pin pince pineaux pins pionnat pire pis pithiviers pitre pitres place
    places plage plages plaigne plain plaine plaines plains plaisance plaisir plan planche
    plancher planchers planches planchez planee planes planezes planque planques plans plantaire
    plante plateau platres plats pleine pleure pleurs plombieres poche poeles poids poil poincon
    point pointe points poire pois poisson poissons poitevine poivre poivres poix pole pommera
    pommier pommiers pompon pomponne ponce ponceaux pont pontet ponts populeuse porcheres
    porcherie port porta porte portes porto ports poses possession poste pot poterie poteries
    potier pots pou pouille pouilly poulain poulaines poule poulet prairie pre preaux precheur
    precieux premieres premiers premontre pres presle presque pressoir preste preuve preux
    prieres prieure priez primat prince prisse privas privat prive prix projet propre prouvais
    provin provins prune pruniers publier pucelle puits pure putois puy python quarante quarre
    quarte quartier quarts quatre quelles quernes queue quimper quint quintal quinte ra rabat
    rablais racines rai raids ramasse rame ramee rance rances rancon randonnai rang rapa ratel
    ratier ratieres raves ravieres ray raye re real reaux reconduit recourt reculas redonne
    redoux reez regard regis regle regnat regulier reine reins rejet relevant remouille remparts
    remuee renard rene renne rennes rentieres repara replonges repons repos reposoir restitue
    retourne reunion reveillon reverend ri ria rias riche richelieu riches rideau riel riez
    rigole rimons rions ris rivas rive rives riviere rivieres roc roche rocher rochers roches
    rocheux rocque rocques rodes rodez rogna rognes rognon rogue rogues roi roide romain romaine
    roman romance romand romanee romans ronce rond ronde rondelles ronds rongeant roque
    roquefort roquelaure roques roquette roquettes rose roses rosier rosiere rosieres rosiers
    rosis rossignol rotes rotin rotonde rots rouelle rouerie rouet rouez rouge rouges rouget
    rouille roule roulier rousse rousses routes routier rouvre rouvres roux royal royale royans
    rue ruelle rues rustiques sabine sable sables sablieres sablonnieres sablons sabres sache
    sai saignes saillant saillat sain sains salat sale salee sales salies salin salines salins
    salives salle salles salon salves sana sancerre sancerrois sans santes sapins sarcelles sari
    sarrancolin sassenage saturnin saules saunier sauniere saunieres saurais saurat sauternes
    sauvage sauvages sauvant sauvat sauve sauves sauvete sauveur savonnieres saxon sceau sceaux
    scelles scie sciez scille sec secheras seches secourt secret segala seiche seiches seigneurs
    seille seillons sein seine sel selle selles seltz selve semeuse semons sen senat senaux sene
    sens sentinelle sept septmoncel sepulcre sequestre serein sereine serez serge series serpent
    serra serre serres sers servais serval servant serve serves servies ses seuil seve severe
    seves sevis sevrai sevre sevres sieges sienne signes signets simple sir sire six sixte soc
    sode soie solin sombre sommaire sommant somme sommeilles son songeons sonnette sons sorbets
    sorbier sorbiers sore sorgue sorgues sort sorts souche soucia soudain soudaine soudan soudat
    soude soues souille soula soulages souligne soupir source sources sourd sous souterraine
    soutiers soyer soyers soyons suc suce sud suisse sur sure surin suris survie sus sylvain
    sylvains sylve sylvestre syndicat table tablier tache taillades taillant taille taillee
    taillis tain talais talant taller talon talus tampon taponnat tarare tardais tardes targe
    tartre tasse taule taux tavernes taxat te teille teinturiere temple templier templiers tende
    tendon tendron tendu teneur tenu terce termes ternes terrasse terre terres terrier tertre
    tertres tesson teste thermes thons tierce tiercelet tiercent tillac tille tilles tilleul
    tilleuls tirent titre toges toits tombe tombes tonne tonnerre tort touche touches touille
    tour tourbe tourbes tournai tournas tourne tournedos tournee tournes tourneur tours
    toussaint trait tranche transit trappe trappes trefle treille treilles treize trente tresse
    tresses treteau treve treves trevise tricot trie trilla trimer trinite tripiers troche trois
    tronche tronchet truites tuilerie tuileries tuiliere tulle union urbain uree us usage usages
    vacheres vacherie vaillant vains vair vaire val valence valenciennes valentin valerien
    vallee vallees vallon vallons valouse vals vanne vanneau vannes vans var varaignes varans
    varenne varois vaudeville vaudois vaux vedas velars velin velu venant venas vendes vendomois
    vendue venelles venere venes venette veneur vengeons vent ventes ventouse vents ver verdier
    vereux verge verger vergers verges vergne verin verines vernaux verne vernie vernier
    verrerie verreries verriere verrieres verrue vers vert verts vertu vertueux vertus vetu
    veules veuve veuves via vichy vicomte vicomtesse victoire vidai vidame videlles vie vieil
    vieille vieilles viella vielle vienne viennois viens vieux vif vigne vigneaux vignes
    vignoble vignon vignot vilaine village villages villas ville villes vin vineuse vineux vins
    violes viols vira vire vireux vis visa vit vital vite vitrai vitre vitreux vives vivier
    viviers viviez vogue voie voies voir voire voise voisines voisins voltaire voue vouvray
    voyer vraie vue wallon y
    """
)

_NOT_PLACES = _LEXICON_IN_NAMES | _FIRST_NAMES | _COMMON
