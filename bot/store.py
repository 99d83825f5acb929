"""Persistence: SQLite through aiosqlite, one file, WAL, versioned migrations.

What is kept, and why (shown to people by /mes_donnees, erased by /oubli):
- conversation state (commune, age, situation, need, the question being asked): to continue the
  conversation where it stopped, even after a restart;
- the inbox (platform event ids and the replies computed for them, 48 hours): so a re-delivered
  event is never answered twice and a computed answer is never lost;
- questions the bot could not answer (text only, no name): for admins to improve the knowledge
  base; purged by admins or by /oubli;
- call-back requests (phone number only with consent): for a counsellor to call back.

Nothing is kept longer than needed (`Store.prune`, run at every start): the inbox for two days,
a conversation untouched for six months is erased with its questions and call-backs, and a
call-back marked done keeps its number for 30 days.

Conversation keys are pseudonymised with a keyed hash: platform ids never appear in clear.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.messages import Turn

MIGRATIONS: Sequence[str] = (
    # 1: the first schema
    """
    CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE conversations (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE inbox (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        key TEXT,
        received_at REAL NOT NULL,
        turn TEXT,
        sent INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (platform, event_id)
    );
    CREATE INDEX inbox_received ON inbox (received_at);
    CREATE INDEX inbox_key ON inbox (key);
    CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL);
    CREATE TABLE usage_events (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        day TEXT NOT NULL,
        platform TEXT NOT NULL,
        person TEXT NOT NULL,
        kind TEXT NOT NULL,
        need TEXT,
        categorie TEXT,
        departement TEXT,
        referral TEXT
    );
    CREATE INDEX usage_day ON usage_events (day);
    CREATE TABLE unanswered (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        key TEXT,
        departement TEXT,
        text TEXT NOT NULL,
        best_match TEXT,
        score REAL
    );
    CREATE TABLE referral_codes (
        code TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        departement TEXT,
        need TEXT,
        commune TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        key TEXT,
        platform TEXT NOT NULL,
        phone TEXT,
        moment TEXT,
        commune TEXT,
        need TEXT,
        referral TEXT,
        status TEXT NOT NULL DEFAULT 'nouveau'
    );
    """,
    # 2 (dashboard): questions marked handled or made FAQ variants; who came by which code
    """
    ALTER TABLE unanswered ADD COLUMN handled_at REAL;
    ALTER TABLE unanswered ADD COLUMN handled_faq TEXT;
    CREATE INDEX usage_referral ON usage_events (referral, person) WHERE referral IS NOT NULL;
    """,
)

DAY_S = 24 * 3600
INBOX_RETENTION_S = 2 * DAY_S  # platforms re-deliver for less than 24 hours
STATE_RETENTION_S = 180 * DAY_S  # a conversation untouched for six months is forgotten
CALLBACK_DONE_RETENTION_S = 30 * DAY_S  # a call-back marked done keeps its number 30 days


@dataclass(frozen=True, slots=True)
class InboxEntry:
    turn: Turn | None
    sent: bool


@dataclass(frozen=True, slots=True)
class UsageEvent:
    kind: str  # "turn", "orientation", "faq", "unanswered", "callback", "start", "urgence"
    need: str | None = None
    categorie: str | None = None
    departement: str | None = None
    referral: str | None = None


@dataclass(frozen=True, slots=True)
class Unanswered:
    text: str
    best_match: str | None
    score: float | None
    departement: str | None


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    phone: str | None
    moment: str | None
    commune: str | None
    need: str | None
    referral: str | None


@dataclass(frozen=True, slots=True)
class ReferralCode:
    code: str
    label: str
    departement: str | None = None
    need: str | None = None
    commune: str | None = None


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything one handled event writes, in one transaction."""

    platform: str
    event_id: str
    key: str
    state: dict[str, Any] | None  # None: erase the person's data (/oubli)
    turn: Turn
    usage: tuple[UsageEvent, ...] = ()
    unanswered: tuple[Unanswered, ...] = ()
    callbacks: tuple[CallbackRequest, ...] = ()


class Store:
    """The SQLite store. Open with `async with Store.open(path) as store:`."""

    def __init__(self, db: aiosqlite.Connection, secret: bytes) -> None:
        self._db = db
        self._secret = secret
        self._writing = asyncio.Lock()  # one connection: one transaction at a time

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str) -> AsyncIterator[Store]:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA busy_timeout=5000")
            await _migrate(db)
            secret = await _secret(db)
            yield cls(db, secret)
        finally:
            await db.close()

    # --- identity ------------------------------------------------------------------------------

    def key_for(self, platform: str, conversation: str) -> str:
        """A stable pseudonym for a person on a platform; the clear id is never stored."""
        digest = hmac.new(self._secret, f"{platform}:{conversation}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    # --- conversation turns --------------------------------------------------------------------

    async def load_state(self, key: str) -> dict[str, Any] | None:
        async with self._db.execute("SELECT state FROM conversations WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else dict(json.loads(row[0]))

    async def inbox_entry(self, platform: str, event_id: str) -> InboxEntry | None:
        async with self._db.execute(
            "SELECT turn, sent FROM inbox WHERE platform = ? AND event_id = ?",
            (platform, event_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        turn = Turn.from_storage(json.loads(row[0])) if row[0] else None
        return InboxEntry(turn=turn, sent=bool(row[1]))

    async def commit_turn(self, record: TurnRecord) -> None:
        now = time.time()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        async with self._transaction() as db:
            if record.state is None:
                await _erase(db, record.key)
            else:
                await db.execute(
                    "INSERT INTO conversations (key, state, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE"
                    " SET state = excluded.state, updated_at = excluded.updated_at",
                    (record.key, json.dumps(record.state, ensure_ascii=False), now, now),
                )
            await db.execute(
                "INSERT INTO inbox (platform, event_id, key, received_at, turn, sent)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                (
                    record.platform,
                    record.event_id,
                    None if record.state is None else record.key,
                    now,
                    json.dumps(record.turn.to_storage(), ensure_ascii=False),
                ),
            )
            await db.executemany(
                "INSERT INTO usage_events (at, day, platform, person, kind, need, categorie,"
                " departement, referral) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        now,
                        day,
                        record.platform,
                        record.key[:12],
                        u.kind,
                        u.need,
                        u.categorie,
                        u.departement,
                        u.referral,
                    )
                    for u in record.usage
                ],
            )
            await db.executemany(
                "INSERT INTO unanswered (at, key, departement, text, best_match, score)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (now, record.key, u.departement, u.text, u.best_match, u.score)
                    for u in record.unanswered
                ],
            )
            await db.executemany(
                "INSERT INTO callbacks (at, key, platform, phone, moment, commune, need, referral)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        now,
                        record.key,
                        record.platform,
                        c.phone,
                        c.moment,
                        c.commune,
                        c.need,
                        c.referral,
                    )
                    for c in record.callbacks
                ],
            )

    async def mark_sent(self, platform: str, event_id: str) -> None:
        """The replies of this event reached the platform: drop them from the inbox."""
        await self._write(
            "UPDATE inbox SET sent = 1, turn = NULL WHERE platform = ? AND event_id = ?",
            (platform, event_id),
        )

    async def unsent(self, platform: str) -> list[tuple[str, Turn]]:
        """Turns computed but not confirmed sent (a crash between commit and send)."""
        async with self._db.execute(
            "SELECT event_id, turn FROM inbox WHERE platform = ? AND sent = 0"
            " AND turn IS NOT NULL ORDER BY received_at",
            (platform,),
        ) as cur:
            rows = await cur.fetchall()
        return [(str(r[0]), Turn.from_storage(json.loads(r[1]))) for r in rows]

    async def prune(self, now: float | None = None) -> int:
        """Forget what is no longer needed; returns how many rows went.

        Inbox rows after two days; conversations untouched for six months (with their
        unanswered questions and call-backs); call-backs marked done after 30 days.
        """
        now = now or time.time()
        idle = now - STATE_RETENTION_S
        async with self._transaction() as db:
            removed = 0
            for sql, limit in (
                ("DELETE FROM inbox WHERE received_at < ?", now - INBOX_RETENTION_S),
                ("DELETE FROM unanswered WHERE key IN (SELECT key FROM conversations"
                 " WHERE updated_at < ?)", idle),
                ("DELETE FROM callbacks WHERE key IN (SELECT key FROM conversations"
                 " WHERE updated_at < ?)", idle),
                ("DELETE FROM conversations WHERE updated_at < ?", idle),
                ("DELETE FROM callbacks WHERE status != 'nouveau' AND at < ?",
                 now - CALLBACK_DONE_RETENTION_S),
            ):  # fmt: skip
                cursor = await db.execute(sql, (limit,))
                removed += max(0, cursor.rowcount)
        return removed

    # --- personal data -------------------------------------------------------------------------

    async def personal_data(self, key: str) -> dict[str, Any]:
        """Everything kept about one person, for /mes_donnees."""
        state = await self.load_state(key)
        async with self._db.execute(
            "SELECT text FROM unanswered WHERE key = ? ORDER BY at", (key,)
        ) as cur:
            questions = [str(r[0]) for r in await cur.fetchall()]
        async with self._db.execute(
            "SELECT phone, moment, status FROM callbacks WHERE key = ? ORDER BY at", (key,)
        ) as cur:
            callbacks = [
                {"telephone": r[0], "moment": r[1], "statut": r[2]} for r in await cur.fetchall()
            ]
        return {"state": state, "unanswered": questions, "callbacks": callbacks}

    async def erase(self, key: str) -> None:
        async with self._transaction() as db:
            await _erase(db, key)

    # --- platform cursors ----------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        async with self._db.execute("SELECT value FROM cursors WHERE name = ?", (name,)) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def set_cursor(self, name: str, value: str) -> None:
        await self._write(
            "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (name, value, time.time()),
        )

    # --- referral codes ------------------------------------------------------------------------

    async def save_referral(self, code: ReferralCode) -> None:
        await self._write(
            "INSERT INTO referral_codes (code, label, departement, need, commune, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE SET label = excluded.label,"
            " departement = excluded.departement, need = excluded.need,"
            " commune = excluded.commune",
            (code.code, code.label, code.departement, code.need, code.commune, time.time()),
        )

    async def referrals(self) -> dict[str, ReferralCode]:
        async with self._db.execute(
            "SELECT code, label, departement, need, commune FROM referral_codes"
        ) as cur:
            rows = await cur.fetchall()
        return {str(r[0]): ReferralCode(*r) for r in rows}

    # --- admin views ---------------------------------------------------------------------------

    async def usage_summary(self, since_day: str) -> dict[str, Any]:
        """Counts for admins: no names, no texts, no platform ids."""
        out: dict[str, Any] = {}
        queries = {
            "personnes": "SELECT COUNT(DISTINCT person) FROM usage_events WHERE day >= ?",
            "messages": "SELECT COUNT(*) FROM usage_events WHERE day >= ? AND kind = 'turn'",
        }
        for name, sql in queries.items():
            async with self._db.execute(sql, (since_day,)) as cur:
                row = await cur.fetchone()
            out[name] = int(row[0]) if row else 0
        groups = {
            "par_type": "kind",
            "par_besoin": "need",
            "par_categorie": "categorie",
            "par_plateforme": "platform",
            "par_code": "referral",
        }
        for name, column in groups.items():
            async with self._db.execute(
                f"SELECT {column}, COUNT(*) FROM usage_events WHERE day >= ?"
                f" AND {column} IS NOT NULL AND kind != 'turn' GROUP BY {column}"
                " ORDER BY COUNT(*) DESC",
                (since_day,),
            ) as cur:
                out[name] = {str(k): int(v) for k, v in await cur.fetchall()}
        return out

    async def unanswered_questions(self, limit: int = 50) -> list[dict[str, Any]]:
        async with self._db.execute(
            "SELECT id, at, departement, text, best_match, score FROM unanswered"
            " ORDER BY at DESC LIMIT ?",
            (limit,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            {
                "id": r[0],
                "at": r[1],
                "departement": r[2],
                "text": r[3],
                "best_match": r[4],
                "score": r[5],
            }
            for r in rows
        ]

    async def purge_unanswered(self) -> int:
        return await self._write("DELETE FROM unanswered")

    async def callbacks(self, status: str | None = "nouveau") -> list[dict[str, Any]]:
        sql = (
            "SELECT id, at, platform, phone, moment, commune, need, referral, status FROM callbacks"
        )
        args: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status = ?"
            args = (status,)
        async with self._db.execute(sql + " ORDER BY at", args) as cur:
            rows = await cur.fetchall()
        names = (
            "id",
            "at",
            "platform",
            "telephone",
            "moment",
            "commune",
            "need",
            "referral",
            "status",
        )
        return [dict(zip(names, r, strict=True)) for r in rows]

    async def set_callback_status(self, callback_id: int, status: str) -> bool:
        changed = await self._write(
            "UPDATE callbacks SET status = ? WHERE id = ?", (status, callback_id)
        )
        return changed > 0

    # --- internals -----------------------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._writing:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """One statement outside any other coroutine's transaction; returns the row count."""
        async with self._writing:
            cursor = await self._db.execute(sql, args)
            return cursor.rowcount


async def _erase(db: aiosqlite.Connection, key: str) -> None:
    await db.execute("DELETE FROM conversations WHERE key = ?", (key,))
    await db.execute("DELETE FROM unanswered WHERE key = ?", (key,))
    await db.execute("DELETE FROM callbacks WHERE key = ?", (key,))
    # Keep event ids (for dedupe) but unlink them from the person.
    await db.execute("UPDATE inbox SET key = NULL WHERE key = ?", (key,))


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        await db.executescript(f"BEGIN; {script} PRAGMA user_version = {number}; COMMIT;")


async def _secret(db: aiosqlite.Connection) -> bytes:
    async with db.execute("SELECT value FROM settings WHERE name = 'pseudonym_key'") as cur:
        row = await cur.fetchone()
    if row is not None:
        return bytes.fromhex(str(row[0]))
    value = secrets.token_bytes(32)
    await db.execute(
        "INSERT INTO settings (name, value) VALUES ('pseudonym_key', ?)", (value.hex(),)
    )
    return value
