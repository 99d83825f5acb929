"""The dashboard's own queries on the bot's SQLite database.

Figures come from the pseudonymised `usage_events` only (no names, no texts, no platform ids).
The unanswered questions and the call-back requests come from their own tables; the dashboard
never reads a phone number (only whether one was left) and shows question texts masked.

Definitions (the page and `docs/dashboard.md` say the same):
- *personnes*: distinct pseudonyms with at least one event;
- *conversation*: a run of one person's messages with no gap longer than 30 minutes;
- *résultats montrés*: structures proposed (one `orientation` event each);
- days are the events' UTC days (the `day` column).

A person "came through a counsellor code" when any of their events carries that code.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from bot.text import fold

CONVERSATION_GAP_S = 30 * 60
FIGURES_CACHE_S = 30.0
MAX_QUESTION_ROWS = 50_000  # the questions page groups at most this many recent rows

QuestionState = Literal["a_traiter", "traitees", "toutes"]
Start = tuple[str, str | None, str]  # a conversation's first message: day, département, person
CallbackState = Literal["nouveau", "traite", "tous"]


class DatabaseMissing(RuntimeError):
    """The database file does not exist: the message says what to do (French, then English)."""


@dataclass(frozen=True, slots=True)
class Period:
    """Inclusive UTC days."""

    start: dt.date
    end: dt.date
    preset: str = "30"  # "7", "30", "90" or "perso"

    @classmethod
    def last(cls, days: int, today: dt.date) -> Period:
        return cls(today - dt.timedelta(days=days - 1), today, str(days))

    @property
    def days(self) -> list[dt.date]:
        count = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=n) for n in range(count)]

    def epoch_bounds(self) -> tuple[float, float]:
        """[start 00:00 UTC, day after end 00:00 UTC) as Unix times."""
        begin = dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        return begin.timestamp(), end.timestamp()


@dataclass(frozen=True, slots=True)
class Filters:
    period: Period
    departement: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    personnes: int = 0
    conversations: int = 0
    messages: int = 0
    resultats: int = 0
    reponses_faq: int = 0
    rappels: int = 0
    non_compris: int = 0
    urgences: int = 0


@dataclass(frozen=True, slots=True)
class DayRow:
    day: dt.date
    personnes: int
    conversations: int
    resultats: int


@dataclass(frozen=True, slots=True)
class CountRow:
    """People and events for one need, category or FAQ."""

    key: str
    personnes: int
    nombre: int


@dataclass(frozen=True, slots=True)
class DeptRow:
    departement: str
    personnes: int
    conversations: int
    resultats: int
    reponses_faq: int
    rappels: int


@dataclass(frozen=True, slots=True)
class CodeRow:
    code: str
    personnes: int
    conversations: int
    resultats: int
    rappels: int


@dataclass(frozen=True, slots=True)
class Figures:
    computed_at: float  # Unix time: figures are reused for 30 s
    totals: Totals
    days: list[DayRow]
    needs: list[CountRow]
    categories: list[CountRow]
    faq: list[CountRow]
    departements: list[DeptRow]
    codes: list[CodeRow]


@dataclass(slots=True)
class QuestionGroup:
    """Unanswered questions that read the same once folded (case, accents, punctuation)."""

    key: str
    text: str  # the most recent wording, as stored (mask it before showing it)
    ids: list[int] = field(default_factory=list)
    last_at: float = 0.0
    departements: Counter[str] = field(default_factory=Counter)
    best_matches: Counter[str] = field(default_factory=Counter)
    handled_faq: str | None = None
    handled: bool = False

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def best_match(self) -> str | None:
        return self.best_matches.most_common(1)[0][0] if self.best_matches else None


@dataclass(frozen=True, slots=True)
class CallbackRow:
    id: int
    at: float
    platform: str
    commune: str | None
    departement: str | None
    need: str | None
    referral: str | None
    status: str
    phone_left: bool


def departement_of(insee: str | None) -> str | None:
    """The département of an INSEE commune code (97x overseas, 2A/2B Corsica)."""
    if not insee or len(insee) != 5:
        return None
    return insee[:3] if insee.startswith("97") else insee[:2]


class DashboardData:
    """Read queries, and the one write: marking unanswered questions handled."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        *,
        cache_s: float = FIGURES_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._cache_s = cache_s
        self._clock = clock
        self._figures: dict[Filters, tuple[float, Figures]] = {}

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        path: Path,
        *,
        cache_s: float = FIGURES_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> AsyncIterator[DashboardData]:
        """Open the bot's database (it must exist); migrate it first if it is behind."""
        if str(path) != ":memory:" and not Path(path).exists():
            raise DatabaseMissing(
                f"La base de données {path} n'existe pas. Lancez le bot une fois, ou donnez le "
                f"bon fichier avec --db. / The database {path} does not exist."
            )
        if not await _has_dashboard_columns(path):
            from bot.store import Store

            async with Store.open(path):  # applies the missing migrations, then closes
                pass
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await db.execute("PRAGMA busy_timeout=5000")
            yield cls(db, cache_s=cache_s, clock=clock)
        finally:
            await db.close()

    # --- figures -----------------------------------------------------------------------------

    async def figures(self, filters: Filters) -> Figures:
        """The figures for these filters; the same filters within 30 s reuse them (a page, then
        its CSV files, cost one computation)."""
        now = self._clock()
        cached = self._figures.get(filters)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        figures = await self._compute_figures(filters)
        if len(self._figures) >= 32:
            self._figures.clear()
        self._figures[filters] = (now, figures)
        return figures

    async def _compute_figures(self, filters: Filters) -> Figures:
        where, args = _event_filter(filters, by_day_index=await self._few_days(filters.period))
        starts = await self._conversation_starts(where, args)
        codes_of = await self._codes_of_people()
        return Figures(
            computed_at=time.time(),
            totals=await self._totals(where, args, len(starts)),
            days=await self._days(filters, where, args, starts),
            needs=await self._counts("need", "orientation", where, args),
            categories=await self._counts("categorie", "orientation", where, args),
            faq=await self._counts("categorie", "faq", where, args),
            departements=await self._departements(where, args, starts),
            codes=await self._codes(filters, where, args, starts, codes_of),
        )

    async def _few_days(self, period: Period) -> bool:
        """True when the period holds few of the events: reading them through the day index is
        then faster; otherwise one pass over the table is (SQLite keeps no statistics here)."""
        in_period = await self._one(
            "SELECT COUNT(*) FROM usage_events WHERE day BETWEEN ? AND ?",
            [period.start.isoformat(), period.end.isoformat()],
        )
        total = await self._one("SELECT COUNT(*) FROM usage_events", [])
        return int(in_period[0]) * 20 < int(total[0])

    async def _conversation_starts(self, where: str, args: list[Any]) -> list[Start]:
        """(day, département, person) of the first message of each conversation."""
        rows = await self._all(
            "WITH turns AS (SELECT person, day, departement, at,"
            " LAG(at) OVER (PARTITION BY person ORDER BY at) AS previous"
            f" FROM usage_events WHERE kind = 'turn' AND {where})"
            " SELECT day, departement, person FROM turns"
            f" WHERE previous IS NULL OR at - previous > {CONVERSATION_GAP_S}",
            args,
        )
        return [(str(day), dept, str(person)) for day, dept, person in rows]

    async def _codes_of_people(self) -> dict[str, set[str]]:
        """Person → the counsellor codes any of their events (ever) carries."""
        codes: dict[str, set[str]] = {}
        for code, person in await self._all(
            "SELECT DISTINCT referral, person FROM usage_events WHERE referral IS NOT NULL", []
        ):
            codes.setdefault(str(person), set()).add(str(code))
        return codes

    async def _totals(self, where: str, args: list[Any], conversations: int) -> Totals:
        row = await self._one(
            "SELECT COUNT(DISTINCT person),"
            " SUM(kind = 'turn'), SUM(kind = 'orientation'), SUM(kind = 'faq'),"
            " SUM(kind = 'rappel'), SUM(kind = 'non_compris'), SUM(kind = 'urgence')"
            f" FROM usage_events WHERE {where}",
            args,
        )
        values = [int(v or 0) for v in row]
        return Totals(
            personnes=values[0],
            conversations=conversations,
            messages=values[1],
            resultats=values[2],
            reponses_faq=values[3],
            rappels=values[4],
            non_compris=values[5],
            urgences=values[6],
        )

    async def _days(
        self, filters: Filters, where: str, args: list[Any], starts: list[Start]
    ) -> list[DayRow]:
        per_day: dict[str, tuple[int, int]] = {}
        for day, people, results in await self._all(
            "SELECT day, COUNT(DISTINCT person), SUM(kind = 'orientation')"
            f" FROM usage_events WHERE {where} GROUP BY day",
            args,
        ):
            per_day[str(day)] = (int(people), int(results or 0))
        conversations = Counter(day for day, _, _ in starts)
        rows = []
        for day in filters.period.days:
            people, results = per_day.get(day.isoformat(), (0, 0))
            rows.append(DayRow(day, people, conversations[day.isoformat()], results))
        return rows

    async def _counts(self, column: str, kind: str, where: str, args: list[Any]) -> list[CountRow]:
        rows = await self._all(
            f"SELECT {column}, COUNT(DISTINCT person), COUNT(*) FROM usage_events"
            f" WHERE {where} AND kind = ? AND {column} IS NOT NULL"
            f" GROUP BY {column} ORDER BY COUNT(*) DESC, {column}",
            [*args, kind],
        )
        return [CountRow(str(k), int(p), int(n)) for k, p, n in rows]

    async def _departements(
        self, where: str, args: list[Any], starts: list[Start]
    ) -> list[DeptRow]:
        conversations = Counter(dept for _, dept, _ in starts if dept)
        found = await self._all(
            "SELECT departement, COUNT(DISTINCT person), SUM(kind = 'orientation'),"
            " SUM(kind = 'faq'), SUM(kind = 'rappel') FROM usage_events"
            f" WHERE {where} AND departement IS NOT NULL GROUP BY departement",
            args,
        )
        rows = [
            DeptRow(str(d), int(p), conversations[str(d)], int(r or 0), int(f or 0), int(c or 0))
            for d, p, r, f, c in found
        ]
        return sorted(rows, key=lambda r: (-r.personnes, r.departement))

    async def _codes(
        self,
        filters: Filters,
        where: str,
        args: list[Any],
        starts: list[Start],
        codes_of: dict[str, set[str]],
    ) -> list[CodeRow]:
        people: Counter[str] = Counter()
        results: Counter[str] = Counter()
        callbacks: Counter[str] = Counter()
        for person, shown, called in await self._all(
            "SELECT person, SUM(kind = 'orientation'), SUM(kind = 'rappel') FROM usage_events"
            f" WHERE {where} AND person IN"
            " (SELECT person FROM usage_events WHERE referral IS NOT NULL) GROUP BY person",
            args,
        ):
            for code in codes_of.get(str(person), ()):
                people[code] += 1
                results[code] += int(shown or 0)
                callbacks[code] += int(called or 0)
        conversations: Counter[str] = Counter()
        for _, _, person in starts:
            for code in codes_of.get(person, ()):
                conversations[code] += 1
        if filters.code is not None:  # the people who came by it may have used other codes too
            codes = {filters.code}
        else:  # and codes nobody came through yet are worth seeing too
            known = await self.referral_codes()
            codes = set(people) | {
                code for code, (_, dept) in known.items() if filters.departement in (None, dept)
            }
        rows = [
            CodeRow(code, people[code], conversations[code], results[code], callbacks[code])
            for code in codes
        ]
        return sorted(rows, key=lambda r: (-r.personnes, r.code))

    # --- choices for the filters ---------------------------------------------------------------

    async def departements_seen(self) -> list[str]:
        rows = await self._all(
            "SELECT DISTINCT departement FROM usage_events WHERE departement IS NOT NULL", []
        )
        return sorted(str(r[0]) for r in rows)

    async def referral_codes(self) -> dict[str, tuple[str, str | None]]:
        """Code → (label, département) for every counsellor code made with `aiguillage link`."""
        rows = await self._all("SELECT code, label, departement FROM referral_codes", [])
        return {str(code): (str(label), dept) for code, label, dept in rows}

    async def codes_seen(self) -> list[str]:
        rows = await self._all(
            "SELECT DISTINCT referral FROM usage_events WHERE referral IS NOT NULL", []
        )
        return sorted(str(r[0]) for r in rows)

    # --- unanswered questions ----------------------------------------------------------------

    async def questions(
        self, filters: Filters, state: QuestionState = "a_traiter"
    ) -> list[QuestionGroup]:
        begin, end = filters.period.epoch_bounds()
        sql = (
            "SELECT id, at, departement, text, best_match, handled_at, handled_faq"
            " FROM unanswered WHERE at >= ? AND at < ?"
        )
        args: list[Any] = [begin, end]
        if filters.departement:
            sql += " AND departement = ?"
            args.append(filters.departement)
        if filters.code:
            # The usage pseudonym is the first 12 characters of the conversation key.
            sql += " AND substr(key, 1, 12) IN (SELECT person FROM usage_events WHERE referral = ?)"
            args.append(filters.code)
        if state == "a_traiter":
            sql += " AND handled_at IS NULL"
        elif state == "traitees":
            sql += " AND handled_at IS NOT NULL"
        sql += " ORDER BY at DESC LIMIT ?"
        args.append(MAX_QUESTION_ROWS)
        groups: dict[str, QuestionGroup] = {}
        for row_id, at, dept, text, best, handled_at, handled_faq in await self._all(sql, args):
            key = fold(str(text)) or str(text).strip()
            group = groups.get(key)
            if group is None:  # rows come newest first: the first wording seen is the latest
                group = groups[key] = QuestionGroup(key=key, text=str(text), last_at=float(at))
            group.ids.append(int(row_id))
            if dept:
                group.departements[str(dept)] += 1
            if best:
                group.best_matches[str(best)] += 1
            if handled_at is not None:
                group.handled = True
                group.handled_faq = group.handled_faq or (str(handled_faq) if handled_faq else None)
        return sorted(groups.values(), key=lambda g: (-g.count, -g.last_at))

    async def mark_handled(self, ids: Iterable[int], now: float, faq: str | None = None) -> int:
        """Mark these unanswered questions handled (and which FAQ got them); returns how many."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        marks = ",".join("?" * len(wanted))
        cursor = await self._db.execute(
            f"UPDATE unanswered SET handled_at = ?, handled_faq = ?"
            f" WHERE handled_at IS NULL AND id IN ({marks})",
            [now, faq, *wanted],
        )
        return max(0, cursor.rowcount)

    # --- call-back requests ------------------------------------------------------------------

    async def callbacks(self, filters: Filters, state: CallbackState = "tous") -> list[CallbackRow]:
        begin, end = filters.period.epoch_bounds()
        sql = (
            "SELECT id, at, platform, commune, need, referral, status, phone IS NOT NULL"
            " FROM callbacks WHERE at >= ? AND at < ?"
        )
        args: list[Any] = [begin, end]
        if state == "nouveau":
            sql += " AND status = 'nouveau'"
        elif state == "traite":
            sql += " AND status != 'nouveau'"
        if filters.code:
            sql += " AND referral = ?"
            args.append(filters.code)
        rows = [
            CallbackRow(
                id=int(r[0]),
                at=float(r[1]),
                platform=str(r[2]),
                commune=r[3],
                departement=departement_of(r[3]),
                need=r[4],
                referral=r[5],
                status=str(r[6]),
                phone_left=bool(r[7]),
            )
            for r in await self._all(sql + " ORDER BY at DESC", args)
        ]
        if filters.departement:
            rows = [r for r in rows if r.departement == filters.departement]
        return rows

    # --- internals -----------------------------------------------------------------------------

    async def _all(self, sql: str, args: Sequence[Any]) -> list[Any]:
        async with self._db.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def _one(self, sql: str, args: Sequence[Any]) -> Any:
        async with self._db.execute(sql, args) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return row


def _event_filter(filters: Filters, *, by_day_index: bool = True) -> tuple[str, list[Any]]:
    """The WHERE clause for the events the filters keep (`+day`: SQLite scans the table)."""
    day = "day" if by_day_index else "+day"
    clauses = [f"{day} BETWEEN ? AND ?"]
    args: list[Any] = [filters.period.start.isoformat(), filters.period.end.isoformat()]
    if filters.departement:
        clauses.append("departement = ?")
        args.append(filters.departement)
    if filters.code:
        clauses.append("person IN (SELECT person FROM usage_events WHERE referral = ?)")
        args.append(filters.code)
    return " AND ".join(clauses), args


async def _has_dashboard_columns(path: Path) -> bool:
    async with (
        aiosqlite.connect(str(path)) as db,
        db.execute("PRAGMA table_info(unanswered)") as cursor,
    ):
        columns = {str(row[1]) for row in await cursor.fetchall()}
    return "handled_at" in columns
