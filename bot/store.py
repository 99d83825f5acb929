"""Persistence: one SQLite file (WAL), versioned migrations, one database thread.

What is kept, and why (shown to people by /mes_donnees, erased by /oubli):
- conversation state (commune, age, situation, need, the question being asked): to continue the
  conversation where it stopped, even after a restart;
- the inbox (which events were handled, and the replies computed for them until the platform
  took them, 48 hours at most): so a re-delivered event is never answered twice and a computed
  answer is never lost. Keyed by platform, pseudonym and event id: two people whose event ids
  collide each get their own answer;
- questions the bot could not answer, with phone numbers, long numbers, e-mails, handles and
  names masked before they are stored (`bot.privacy`): for admins to improve the knowledge
  base; purged by admins or by /oubli;
- call-back requests (a phone number only after consent, or "write to me here"; the facts the
  counsellor reads; the person's chat, sealed with a key derived from the key file so that the
  database alone does not give it): for a counsellor to call back and the person to be told who
  took it (`bot/callbacks/`);
- the outbox (`bot/staff/outbox.py`): messages to counsellors, admins and people, kept until
  the platform took them, their text cleared once sent;
- usage events (what kind of turn, need, category, département, counsellor code, and a short
  pseudonym to count people): the figures admins read. No text, no name, no platform id;
- events taken from the platform and not answered yet (`received`, Telegram), sealed like the
  call-back chats and deleted as soon as each is answered, usually within a second: so that
  the platform can be told at once that they are safe here, and one person writing fast (or
  Telegram's one-message-a-second limit in their chat) never holds back anyone else;
- the platform ids of counsellors' replies and button presses acted on (`staff_events`, 30
  days: Matrix syncs again from an old position after a long stop): so that one delivered
  again is not obeyed twice (a message to the person sent twice). No text, no name.

`/oubli` deletes every row about the person: state, inbox rows, questions, call-backs, outbox
rows, usage events, and the adapters' per-person cursors (any cursor whose name holds the
pseudonym). Deleted content is overwritten (`secure_delete`) and the WAL is checkpointed and
truncated right after, so the text is gone from the files on disk, not only from the tables.

Nothing is kept longer than needed (`Store.prune`, run at every start): the inbox for two days,
a conversation untouched for six months is erased with its questions, call-backs and outbox
rows, and a call-back with an outcome is erased after 30 days (`conseillers.conservation_jours`).

Conversation keys are pseudonymised with a keyed hash (HMAC-SHA256): platform ids never appear
in clear. The key lives in its own file beside the database (`bot/store_files.py`), never in it.

Files: the folder 0700, the database and its journals 0600, one writing process at a time (a
`flock` lock; a second instance is refused with a clear message). Every problem with the file
(read-only, disk full, corrupted, newer schema, busy) is a `StoreError` with a French message and
a way out, never silent use.

How it runs: one thread owns the connection (`bot/dbthread.py`). A turn is one job on that thread
(`Store.run_turn`): dedupe, load the state, decide (the dialogue step), write state, inbox row,
usage, questions and call-backs; the jobs waiting together share one transaction, and a caller
gets its answer only once it is committed. A crash before the commit: the platform re-delivers
the event. After it: the stored turn is returned again on re-delivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot import store_errors
from bot.dbthread import BUSY_RETRIES, DatabaseThread
from bot.messages import Turn
from bot.privacy import mask_personal
from bot.store_errors import StoreError
from bot.store_files import DatabaseFiles, WriterLock, new_key
from bot.walcheckpoint import SAFETY_NET_PAGES, WalCheckpointer

__all__ = [
    "MIGRATIONS",
    "CallbackRequest",
    "InboxEntry",
    "ReferralCode",
    "Store",
    "StoreError",
    "TurnOutcome",
    "TurnRecord",
    "Unanswered",
    "UsageEvent",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Append-only: entry N (from 1) brings a database from schema N-1 to N (`PRAGMA user_version`).
# Each is plain SQL; `mask_personal(text)` is available to them as an SQL function.
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
    # 2: the inbox keyed by (pseudonym, platform, event id); usage rows can be anonymous and are
    #    found by person for /oubli; unanswered texts already stored are masked.
    """
    CREATE TABLE inbox_v2 (
        key TEXT NOT NULL,
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        received_at REAL NOT NULL,
        turn TEXT,
        sent INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (key, platform, event_id)
    );
    INSERT INTO inbox_v2 (key, platform, event_id, received_at, turn, sent)
        SELECT key, platform, event_id, received_at, turn, sent FROM inbox WHERE key IS NOT NULL;
    DROP TABLE inbox;
    ALTER TABLE inbox_v2 RENAME TO inbox;
    CREATE INDEX inbox_received ON inbox (received_at);
    CREATE TABLE usage_v2 (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        day TEXT NOT NULL,
        platform TEXT NOT NULL,
        person TEXT,
        kind TEXT NOT NULL,
        need TEXT,
        categorie TEXT,
        departement TEXT,
        referral TEXT
    );
    INSERT INTO usage_v2 SELECT id, at, day, platform, person, kind, need, categorie,
        departement, referral FROM usage_events;
    DROP TABLE usage_events;
    ALTER TABLE usage_v2 RENAME TO usage_events;
    CREATE INDEX usage_day ON usage_events (day);
    CREATE INDEX usage_person ON usage_events (person);
    CREATE INDEX unanswered_key ON unanswered (key);
    CREATE INDEX callbacks_key ON callbacks (key);
    UPDATE unanswered SET text = mask_personal(text);
    """,
    # 3 (dashboard): questions marked handled or made FAQ variants; who came by which code
    """
    ALTER TABLE unanswered ADD COLUMN handled_at REAL;
    ALTER TABLE unanswered ADD COLUMN handled_faq TEXT;
    CREATE INDEX usage_referral ON usage_events (referral, person) WHERE referral IS NOT NULL;
    """,
    # 4 (counsellors): the call-back lifecycle (request → notified → taken → outcome), the
    #    person's chat sealed with the key file, and the outbox of messages to staff and people
    """
    ALTER TABLE callbacks ADD COLUMN departement TEXT;
    ALTER TABLE callbacks ADD COLUMN lang TEXT;
    ALTER TABLE callbacks ADD COLUMN contact TEXT;
    ALTER TABLE callbacks ADD COLUMN address BLOB;
    ALTER TABLE callbacks ADD COLUMN details TEXT;
    ALTER TABLE callbacks ADD COLUMN follow_up INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE callbacks ADD COLUMN handler TEXT;
    ALTER TABLE callbacks ADD COLUMN notified_at REAL;
    ALTER TABLE callbacks ADD COLUMN escalated_at REAL;
    ALTER TABLE callbacks ADD COLUMN taken_at REAL;
    ALTER TABLE callbacks ADD COLUMN taken_by TEXT;
    ALTER TABLE callbacks ADD COLUMN outcome_at REAL;
    ALTER TABLE callbacks ADD COLUMN outcome_note TEXT;
    ALTER TABLE callbacks ADD COLUMN followed_up_at REAL;
    CREATE INDEX callbacks_open ON callbacks (status, notified_at);
    ALTER TABLE referral_codes ADD COLUMN structure TEXT;
    ALTER TABLE referral_codes ADD COLUMN accueil TEXT;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        platform TEXT NOT NULL,
        target TEXT NOT NULL,
        sealed BLOB,
        key TEXT,
        kind TEXT NOT NULL,
        callback_id INTEGER,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at REAL NOT NULL,
        sent_at REAL,
        ref TEXT,
        failed TEXT
    );
    CREATE INDEX outbox_due ON outbox (platform, sent_at, due_at);
    CREATE INDEX outbox_ref ON outbox (ref) WHERE ref IS NOT NULL;
    CREATE INDEX outbox_key ON outbox (key);
    """,
    # 5: events taken from the platform and not answered yet, sealed (`Store.receive`)
    """
    CREATE TABLE received (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        body BLOB NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (platform, event_id)
    );
    """,
    # 6: counsellors' replies and button presses acted on (`bot.callbacks.desk`): a platform
    # that delivers one again is not obeyed twice
    """
    CREATE TABLE staff_events (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (platform, event_id)
    );
    """,
)

DAY_S = 24 * 3600
INBOX_RETENTION_S = 2 * DAY_S  # Telegram re-delivers for less than 24 hours
# Matrix syncs again from the last position stored, however old: a bot down for days must still
# not obey a counsellor's reply twice (these rows hold no text and no name)
STAFF_EVENTS_RETENTION_S = 30 * DAY_S
STATE_RETENTION_S = 180 * DAY_S  # a conversation untouched for six months is forgotten
CALLBACK_DONE_RETENTION_S = 30 * DAY_S  # a call-back marked done keeps its number 30 days
OPEN_STATUSES = "('nouveau', 'pris')"  # call-backs waiting for a counsellor or being handled
BUSY_TIMEOUT_MS = 5000
SENT_FLUSH_S = 0.05  # a confirmation waits at most this long for a job to travel with
KEY_CACHE_SIZE = 20_000  # pseudonyms remembered in memory (never written anywhere)
_FORGET_RECEIVED = "DELETE FROM received WHERE platform = ? AND event_id = ?"
PERSON_LENGTH = 12  # the usage rows' pseudonym: enough to count people, shorter than the key


@dataclass(frozen=True, slots=True)
class InboxEntry:
    turn: Turn | None
    sent: bool


@dataclass(frozen=True, slots=True)
class UsageEvent:
    kind: str  # "turn", "orientation", "faq", "non_compris", "rappel", "start", "urgence"…
    need: str | None = None
    categorie: str | None = None
    departement: str | None = None
    referral: str | None = None


@dataclass(frozen=True, slots=True)
class Unanswered:
    text: str  # masked by the store before it is written
    best_match: str | None
    score: float | None
    departement: str | None


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A request to be contacted by a person (`bot/callbacks/`), with the person's consent.

    `amends_latest`: not a new request, but the moment or the follow-up opt-in of the person's
    latest one (the fields left None are not changed)."""

    phone: str | None
    moment: str | None
    commune: str | None
    need: str | None
    referral: str | None
    contact: str = "telephone"  # "telephone", or "ici": write to me in this chat
    lang: str = "fr"
    departement: str | None = None
    details: str | None = None  # JSON for the counsellor: situation, structures proposed
    follow_up: bool | None = None  # the person may be asked later whether it helped
    amends_latest: bool = False


@dataclass(frozen=True, slots=True)
class ReferralCode:
    code: str
    label: str | None  # None when saving: keep the stored label
    departement: str | None = None
    need: str | None = None
    commune: str | None = None
    structure: str | None = None  # e.g. "Maison des solidarités de Toul"
    accueil: str | None = None  # e.g. "Votre conseillère de la Maison des solidarités de Toul"


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything one handled event writes, in one transaction."""

    platform: str
    event_id: str
    key: str
    state: dict[str, Any] | None  # None: erase the person's data (/oubli), unless keep_state
    turn: Turn
    usage: tuple[UsageEvent, ...] = ()
    unanswered: tuple[Unanswered, ...] = ()
    callbacks: tuple[CallbackRequest, ...] = ()
    keep_state: bool = False  # True: the stored state is left as it is (a turn not stepped)
    address: str | None = None  # the person's chat, for a call-back only (sealed when stored)


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """What `run_turn` gives back: the turn to send (empty if already sent)."""

    turn: Turn
    duplicate: bool  # the event had been handled before: nothing was decided again


# Given the stored state (None for a new person) and a reader of everything kept about the
# person (for /mes_donnees), what this event writes. Runs on the database thread.
Decide = Callable[[dict[str, Any] | None, Callable[[], dict[str, Any]]], TurnRecord]


class Store:
    """The SQLite store. Open with `async with Store.open(path) as store:`.

    `exclusive=True` (the bot) holds the one-writer lock for as long as the store is open;
    admin commands that only read or make one small change (`stats`, `rappels`, `link`) open
    with `exclusive=False` so that they work while the bot runs.
    """

    def __init__(self, thread: DatabaseThread, secret: bytes, path: Path, scrub: Scrub) -> None:
        self._thread = thread
        self._secret = secret
        self._path = path
        self._scrub = scrub
        self._sent: list[tuple[str, str, str]] = []  # confirmations not yet handed to the thread
        self._answered: list[tuple[str, str]] = []  # (platform, event id) kept bodies to forget
        self._flush_timer: asyncio.TimerHandle | None = None
        self._reported: dict[str, float] = {}  # StoreError message -> when it was last logged
        self._keys: dict[tuple[str, str], str] = {}  # (platform, conversation) -> pseudonym
        self._fernet: Any = None  # built when first needed (`seal`)

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path | str, *, exclusive: bool = True) -> AsyncIterator[Store]:
        in_memory = str(path) == ":memory:"
        target = Path(str(path))
        files = None if in_memory else DatabaseFiles(target)
        lock: WriterLock | None = None
        if files is not None:
            files.prepare()
            if exclusive:
                lock = files.lock_writer()
        checkpoints = threading.Lock()  # one checkpoint at a time: the scrub's, or the thread's
        scrub = Scrub(checkpoints)
        try:
            thread = await _translated(
                DatabaseThread.start(lambda: _connect(target), scrub.after_commit), target
            )
            try:
                secret = await _translated(
                    thread.run(lambda db: _set_up(db, target, files), transaction=False), target
                )
                store = cls(thread, secret, target, scrub)
                checkpointer = (  # the bot's own store; not an admin command's beside it
                    WalCheckpointer.start(_checkpoints(target), checkpoints)
                    if files is not None and exclusive
                    else None
                )
                try:
                    yield store
                finally:
                    store._flush_sent()
                    if checkpointer is not None:
                        await checkpointer.stop()
            finally:
                await thread.close()
        finally:
            if lock is not None:
                lock.release()

    @property
    def path(self) -> Path:
        return self._path

    # --- sealing -------------------------------------------------------------------------------

    def seal(self, text: str) -> bytes:
        """`text` encrypted and authenticated with a key derived from the key file: a person's
        chat kept for a call-back cannot be read from the database alone."""
        sealed: bytes = self._sealer().encrypt(text.encode())
        return sealed

    def unseal(self, sealed: bytes | None) -> str | None:
        """The text `seal` sealed; None if missing or sealed with another key."""
        if not sealed:
            return None
        from cryptography.fernet import InvalidToken

        try:
            clear: bytes = self._sealer().decrypt(bytes(sealed))
            return clear.decode()
        except InvalidToken:
            return None

    def _sealer(self) -> Any:
        if self._fernet is None:
            import base64

            from cryptography.fernet import Fernet

            derived = hmac.new(self._secret, b"aiguillage:sealed-address", hashlib.sha256)
            self._fernet = Fernet(base64.urlsafe_b64encode(derived.digest()))
        return self._fernet

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the database thread inside a transaction (for other modules'
        own queries, e.g. the admin dashboard). Its writes are committed when this returns."""
        return await self._call(fn)

    # --- identity ------------------------------------------------------------------------------

    def key_for(self, platform: str, conversation: str) -> str:
        """A stable pseudonym for a person on a platform; the clear id is never stored.

        Remembered in memory for the people writing now (a turn needs it twice)."""
        known = self._keys.get((platform, conversation))
        if known is not None:
            return known
        if len(self._keys) >= KEY_CACHE_SIZE:
            self._keys.clear()
        digest = hmac.new(self._secret, f"{platform}:{conversation}".encode(), hashlib.sha256)
        key = self._keys[(platform, conversation)] = digest.hexdigest()[:32]
        return key

    # --- conversation turns --------------------------------------------------------------------

    async def run_turn(self, platform: str, key: str, event_id: str, decide: Decide) -> TurnOutcome:
        """One event, in one round trip: dedupe, load the state, decide, write it all."""

        def job(db: sqlite3.Connection) -> TurnOutcome:
            # the inbox row and the state in one statement (each statement is a GIL hand-off)
            sent, stored_turn, state = db.execute(
                "SELECT inbox.sent, inbox.turn, conversations.state FROM (SELECT 1)"
                " LEFT JOIN inbox ON inbox.key = ?1 AND inbox.platform = ?2"
                " AND inbox.event_id = ?3 LEFT JOIN conversations ON conversations.key = ?1",
                (key, platform, event_id),
            ).fetchone()
            if sent is not None:  # `sent` is never NULL in a row: the event was seen
                unsent = stored_turn is not None and not sent
                turn = Turn.from_storage(json.loads(stored_turn)) if unsent else Turn([])
                return TurnOutcome(turn, True)
            loaded = None if state is None else dict(json.loads(state))
            record = decide(loaded, lambda: _personal_data(db, key))
            if (record.platform, record.key, record.event_id) != (platform, key, event_id):
                raise ValueError("the decided record is for another event")
            self._commit(db, record)
            return TurnOutcome(record.turn, False)

        return await self._call(job)

    async def load_state(self, key: str) -> dict[str, Any] | None:
        return await self._call(lambda db: _load_state(db, key))

    async def inbox_entry(self, platform: str, key: str, event_id: str) -> InboxEntry | None:
        return await self._call(lambda db: _inbox_entry(db, platform, key, event_id))

    async def commit_turn(self, record: TurnRecord) -> None:
        await self._call(lambda db: self._commit(db, record))

    async def mark_sent(self, platform: str, key: str, event_id: str) -> None:
        """The replies of this event reached the platform: drop them from the inbox."""
        await self._call(lambda db: _mark_sent(db, [(platform, key, event_id)]))

    def mark_sent_soon(self, platform: str, key: str, event_id: str) -> None:
        """The same, without a round trip of its own: the confirmation joins the next database
        job's transaction (at the latest the cursor the adapter writes next, since it goes first
        in the one queue), or is written on its own after `SENT_FLUSH_S` if nothing comes."""
        self._sent.append((platform, key, event_id))
        self._flush_later()

    def answered_soon(self, platform: str, event_id: str) -> None:
        """`answered`, without a round trip of its own (as `mark_sent_soon`; a kill before it is
        written only means the event is offered again at the next start, and the inbox knows
        it)."""
        self._answered.append((platform, event_id))
        self._flush_later()

    def _flush_later(self) -> None:
        if self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(SENT_FLUSH_S, self._flush_sent)

    def _flush_sent(self) -> None:
        """Hand the pending confirmations to the database thread, ahead of anything after."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._sent and not self._answered:
            return
        sent, self._sent = self._sent, []
        answered, self._answered = self._answered, []
        self._thread.submit_nowait(lambda db: _confirm(db, sent, answered))

    async def unsent(self, platform: str) -> list[tuple[str, Turn]]:
        """Turns computed but not confirmed sent (a crash between commit and send)."""

        def job(db: sqlite3.Connection) -> list[tuple[str, Turn]]:
            rows = db.execute(
                "SELECT event_id, turn FROM inbox WHERE platform = ? AND sent = 0"
                " AND turn IS NOT NULL ORDER BY received_at",
                (platform,),
            ).fetchall()
            return [(str(r[0]), Turn.from_storage(json.loads(r[1]))) for r in rows]

        return await self._call(job)

    async def prune(
        self, now: float | None = None, callback_retention_s: float = CALLBACK_DONE_RETENTION_S
    ) -> int:
        """Forget what is no longer needed; returns how many rows went.

        Inbox rows and events received but never answered after two days; counsellors'
        events acted on after 30 days; conversations
        untouched for six months (with their unanswered questions, call-backs and outbox
        rows); call-backs with an outcome after
        the retention period (30 days by default, `conseillers.conservation_jours`), and the
        outbox rows sent or given up that long ago.
        """
        moment = now or time.time()
        idle = moment - STATE_RETENTION_S
        done = moment - callback_retention_s

        def job(db: sqlite3.Connection) -> int:
            removed = 0
            for sql, limit in (
                ("DELETE FROM inbox WHERE received_at < ?", moment - INBOX_RETENTION_S),
                ("DELETE FROM received WHERE received_at < ?", moment - INBOX_RETENTION_S),
                ("DELETE FROM staff_events WHERE received_at < ?",
                 moment - STAFF_EVENTS_RETENTION_S),
                ("DELETE FROM unanswered WHERE key IN (SELECT key FROM conversations"
                 " WHERE updated_at < ?)", idle),
                ("DELETE FROM callbacks WHERE key IN (SELECT key FROM conversations"
                 " WHERE updated_at < ?)", idle),
                ("DELETE FROM outbox WHERE key IN (SELECT key FROM conversations"
                 " WHERE updated_at < ?)", idle),
                ("DELETE FROM conversations WHERE updated_at < ?", idle),
                ("DELETE FROM outbox WHERE callback_id IN (SELECT id FROM callbacks WHERE"
                 f" status NOT IN {OPEN_STATUSES} AND coalesce(outcome_at, at) < ?)", done),
                ("DELETE FROM callbacks WHERE status NOT IN"
                 f" {OPEN_STATUSES} AND coalesce(outcome_at, at) < ?", done),
                ("DELETE FROM outbox WHERE (sent_at IS NOT NULL OR failed IS NOT NULL)"
                 " AND created_at < ?", done),
            ):  # fmt: skip
                removed += max(0, db.execute(sql, (limit,)).rowcount)
            if removed:
                self._scrub.wanted = True
            return removed

        return await self._call(job)

    # --- personal data -------------------------------------------------------------------------

    async def personal_data(self, key: str) -> dict[str, Any]:
        """Everything kept about one person, for /mes_donnees."""
        return await self._call(lambda db: _personal_data(db, key))

    async def erase(self, key: str) -> None:
        """Delete every row about the person; the files are scrubbed right after (/oubli)."""
        await self._call(lambda db: self._erase(db, key))

    # --- platform cursors ----------------------------------------------------------------------

    async def get_cursor(self, name: str) -> str | None:
        def job(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
            return None if row is None else str(row[0])

        return await self._call(job)

    async def set_cursor(self, name: str, value: str) -> None:
        await self._write(
            "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (name, value, time.time()),
        )

    # --- events received, not answered yet --------------------------------------------------

    async def receive(
        self, platform: str, events: Sequence[tuple[str, str]], cursors: Sequence[tuple[str, str]]
    ) -> list[str]:
        """Keep `events` ((event id, body)) sealed until they are answered, and set `cursors`
        (the platform's position after them) in the same transaction: once this returns, the
        platform may forget them. Returns the ids that were not already kept, in order."""
        now = time.time()
        rows = [(platform, event_id, self.seal(body), now) for event_id, body in events]

        def job(db: sqlite3.Connection) -> list[str]:
            new = []
            for row in rows:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO received (platform, event_id, body, received_at)"
                    " VALUES (?, ?, ?, ?)",
                    row,
                )
                if cursor.rowcount:
                    new.append(row[1])
            db.executemany(
                "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                [(name, value, now) for name, value in cursors],
            )
            return new

        return await self._call(job)

    async def received(self, platform: str) -> list[tuple[str, str]]:
        """The events kept and not answered yet ((event id, body)), oldest first. A body
        sealed with another key (a key file replaced) cannot be read and is dropped."""

        def job(db: sqlite3.Connection) -> list[tuple[str, bytes]]:
            return db.execute(
                "SELECT event_id, body FROM received WHERE platform = ?"
                " ORDER BY received_at, rowid",
                (platform,),
            ).fetchall()

        kept = []
        for event_id, sealed in await self._call(job):
            body = self.unseal(sealed)
            if body is None:
                log.warning("a received event could not be read (key file replaced?): dropped")
                await self.answered(platform, event_id)
                continue
            kept.append((str(event_id), body))
        return kept

    async def answered(self, platform: str, event_id: str) -> None:
        """The event was answered (or given up): forget its body."""
        await self._write(_FORGET_RECEIVED, (platform, event_id))

    # --- referral codes ------------------------------------------------------------------------

    async def save_referral(self, code: ReferralCode) -> None:
        """Create or change a code; a field left None keeps its stored value."""
        await self._write(
            "INSERT INTO referral_codes (code, label, departement, need, commune, structure,"
            " accueil, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(code) DO UPDATE"
            " SET label = coalesce(excluded.label, label),"
            " departement = coalesce(excluded.departement, departement),"
            " need = coalesce(excluded.need, need), commune = coalesce(excluded.commune, commune),"
            " structure = coalesce(excluded.structure, structure),"
            " accueil = coalesce(excluded.accueil, accueil)",
            (code.code, code.label, code.departement, code.need, code.commune, code.structure,
             code.accueil, time.time()),
        )  # fmt: skip

    async def referrals(self) -> dict[str, ReferralCode]:
        def job(db: sqlite3.Connection) -> dict[str, ReferralCode]:
            rows = db.execute(
                "SELECT code, label, departement, need, commune, structure, accueil"
                " FROM referral_codes"
            ).fetchall()
            return {str(r[0]): ReferralCode(*r) for r in rows}

        return await self._call(job)

    # --- admin views ---------------------------------------------------------------------------

    async def usage_summary(self, since_day: str) -> dict[str, Any]:
        """Counts for admins: no names, no texts, no platform ids."""

        def job(db: sqlite3.Connection) -> dict[str, Any]:
            out: dict[str, Any] = {}
            queries = {
                "personnes": "SELECT COUNT(DISTINCT person) FROM usage_events WHERE day >= ?",
                "messages": "SELECT COUNT(*) FROM usage_events WHERE day >= ? AND kind = 'turn'",
            }
            for name, sql in queries.items():
                row = db.execute(sql, (since_day,)).fetchone()
                out[name] = int(row[0]) if row else 0
            groups = {
                "par_type": "kind",
                "par_besoin": "need",
                "par_categorie": "categorie",
                "par_plateforme": "platform",
                "par_code": "referral",
            }
            for name, column in groups.items():
                rows = db.execute(
                    f"SELECT {column}, COUNT(*) FROM usage_events WHERE day >= ?"
                    f" AND {column} IS NOT NULL AND kind != 'turn' GROUP BY {column}"
                    " ORDER BY COUNT(*) DESC",
                    (since_day,),
                ).fetchall()
                out[name] = {str(k): int(v) for k, v in rows}
            return out

        return await self._call(job)

    async def code_figures(self, since_day: str) -> dict[str, dict[str, int]]:
        """Per counsellor code: distinct people who came by it, how many of them were shown a
        result, and their call-back requests. Counts only, from the pseudonymised events."""

        def job(db: sqlite3.Connection) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            came = (
                "SELECT DISTINCT referral, person FROM usage_events WHERE day >= ?1"
                " AND referral IS NOT NULL AND person IS NOT NULL"
            )
            queries = {
                "personnes": f"SELECT referral, COUNT(*) FROM ({came}) GROUP BY referral",
                "resultats": f"SELECT c.referral, COUNT(DISTINCT c.person) FROM ({came}) c"
                " JOIN usage_events o ON o.person = c.person AND o.kind = 'orientation'"
                " AND o.day >= ?1 GROUP BY c.referral",
                "rappels": "SELECT referral, COUNT(*) FROM usage_events WHERE day >= ?1"
                " AND kind = 'rappel' AND referral IS NOT NULL GROUP BY referral",
            }
            for name, sql in queries.items():
                for code, count in db.execute(sql, (since_day,)):
                    figures = out.setdefault(
                        str(code), {"personnes": 0, "resultats": 0, "rappels": 0}
                    )
                    figures[name] = int(count)
            return out

        return await self._call(job)

    async def unanswered_questions(self, limit: int = 50) -> list[dict[str, Any]]:
        def job(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(
                "SELECT id, at, departement, text, best_match, score FROM unanswered"
                " ORDER BY at DESC LIMIT ?",
                (limit,),
            ).fetchall()
            names = ("id", "at", "departement", "text", "best_match", "score")
            return [dict(zip(names, r, strict=True)) for r in rows]

        return await self._call(job)

    async def purge_unanswered(self) -> int:
        def job(db: sqlite3.Connection) -> int:
            self._scrub.wanted = True
            return db.execute("DELETE FROM unanswered").rowcount

        return await self._call(job)

    async def callbacks(self, status: str | None = "nouveau") -> list[dict[str, Any]]:
        sql = (
            "SELECT id, at, platform, phone, moment, commune, need, referral, status FROM callbacks"
        )
        args: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status = ?"
            args = (status,)
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

        def job(db: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = db.execute(sql + " ORDER BY at", args).fetchall()
            return [dict(zip(names, r, strict=True)) for r in rows]

        return await self._call(job)

    async def set_callback_status(self, callback_id: int, status: str) -> bool:
        changed = await self._write(
            "UPDATE callbacks SET status = ? WHERE id = ?", (status, callback_id)
        )
        return changed > 0

    # --- on the database thread ----------------------------------------------------------------

    def _commit(self, db: sqlite3.Connection, record: TurnRecord) -> None:
        now = time.time()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        erased = record.state is None and not record.keep_state
        if erased:
            self._erase(db, record.key)
        elif record.state is not None and not record.keep_state:
            db.execute(
                "INSERT INTO conversations (key, state, created_at, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE"
                " SET state = excluded.state, updated_at = excluded.updated_at",
                (record.key, json.dumps(record.state, ensure_ascii=False), now, now),
            )
        if not erased:  # the inbox row of an erasing turn would tie the event to the person
            db.execute(
                "INSERT INTO inbox (key, platform, event_id, received_at, turn, sent)"
                " VALUES (?, ?, ?, ?, ?, 0)",
                (
                    record.key,
                    record.platform,
                    record.event_id,
                    now,
                    json.dumps(record.turn.to_storage(), ensure_ascii=False),
                ),
            )
        person = None if erased else record.key[:PERSON_LENGTH]
        usage = [
            (now, day, record.platform, person, u.kind, u.need, u.categorie, u.departement,
             u.referral)
            for u in record.usage
        ]  # fmt: skip
        if usage:
            db.executemany(
                "INSERT INTO usage_events (at, day, platform, person, kind, need, categorie,"
                " departement, referral) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                usage,
            )
        if erased:
            return
        if record.unanswered:
            db.executemany(
                "INSERT INTO unanswered (at, key, departement, text, best_match, score)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (now, record.key, u.departement, mask_personal(u.text), u.best_match, u.score)
                    for u in record.unanswered
                ],
            )
        for c in record.callbacks:
            if c.amends_latest:
                db.execute(
                    "UPDATE callbacks SET moment = coalesce(?, moment),"
                    " follow_up = coalesce(?, follow_up) WHERE id = (SELECT max(id)"
                    " FROM callbacks WHERE key = ?)",
                    (c.moment, None if c.follow_up is None else int(c.follow_up), record.key),
                )
                continue
            sealed = self.seal(record.address) if record.address is not None else None
            db.execute(
                "INSERT INTO callbacks (at, key, platform, phone, moment, commune, need,"
                " referral, contact, lang, departement, details, follow_up, address)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, record.key, record.platform, c.phone, c.moment, c.commune, c.need,
                 c.referral, c.contact, c.lang, c.departement, c.details, int(bool(c.follow_up)),
                 sealed),
            )  # fmt: skip

    def _erase(self, db: sqlite3.Connection, key: str) -> None:
        for sql, value in (
            ("DELETE FROM conversations WHERE key = ?", key),
            ("DELETE FROM unanswered WHERE key = ?", key),
            ("DELETE FROM outbox WHERE key = ?", key),
            ("DELETE FROM callbacks WHERE key = ?", key),
            ("DELETE FROM inbox WHERE key = ?", key),
            ("DELETE FROM usage_events WHERE person = ?", key[:PERSON_LENGTH]),
            ("DELETE FROM cursors WHERE instr(name, ?) > 0", key),  # e.g. telegram progress
        ):
            db.execute(sql, (value,))
        self._scrub.wanted = True

    # --- internals -----------------------------------------------------------------------------

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._flush_sent()  # confirmations first: the same transaction, or an earlier one
        try:
            return await _translated(self._thread.run(fn), self._path)
        except StoreError as exc:
            self._report(exc)
            raise

    def _report(self, error: StoreError) -> None:
        """Write the clear message to the log too (adapters log only an error's kind), once a
        minute at most for the same problem."""
        message = str(error)
        now = time.monotonic()
        if now - self._reported.get(message, -60.0) >= 60.0:
            self._reported[message] = now
            log.error("%s", message)

    async def _write(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """One statement as one job; returns the row count."""
        return await self._call(lambda db: db.execute(sql, args).rowcount)


async def _translated(pending: Awaitable[T], path: Path) -> T:
    """Await a database job; an SQLite or file error an admin can fix becomes a StoreError."""
    try:
        return await pending
    except sqlite3.Error as exc:
        clear = store_errors.from_sqlite(exc, path, BUSY_TIMEOUT_MS / 1000 * BUSY_RETRIES)
        if clear is None:
            raise
        raise clear from exc
    except OSError as exc:
        raise store_errors.from_os(exc, path) from exc


def _connect(path: Path) -> sqlite3.Connection:
    """The connection the database thread owns (opened on that thread)."""
    db = sqlite3.connect(str(path), isolation_level=None)  # we BEGIN ourselves
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode = WAL")  # reads the header: a corrupted file fails here
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA wal_autocheckpoint = {SAFETY_NET_PAGES}")  # bot/walcheckpoint.py
        db.execute("PRAGMA secure_delete = ON")
        db.create_function("mask_personal", 1, _sql_mask, deterministic=True)
    except BaseException:
        db.close()
        raise
    return db


def _checkpoints(path: Path) -> Callable[[], sqlite3.Connection]:
    """How the checkpointer opens its own connection: it only copies the log, and never
    creates the file (`mode=rw`: a database removed meanwhile is not made again, world-readable)."""

    def connect() -> sqlite3.Connection:
        uri = f"{path.resolve().as_uri()}?mode=rw"
        db = sqlite3.connect(uri, uri=True, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return db

    return connect


class Scrub:
    """Deleted personal data may still sit in the WAL: after the commit that deleted it, copy
    the WAL into the database and truncate it, so the text is in no file any more. Used on the
    database thread only.

    `checkpoints` is held by the log's checkpointer (bot/walcheckpoint.py) while it copies:
    SQLite refuses a second checkpoint at once without waiting, so the scrub waits for it."""

    def __init__(self, checkpoints: threading.Lock) -> None:
        self.wanted = False
        self._checkpoints = checkpoints

    def after_commit(self, db: sqlite3.Connection) -> None:
        if not self.wanted:
            return
        with self._checkpoints:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("WAL checkpoint postponed: a reader still uses the log")
            return
        self.wanted = False


def _sql_mask(text: str | None) -> str | None:
    return mask_personal(text) if isinstance(text, str) else text


def _set_up(db: sqlite3.Connection, path: Path, files: DatabaseFiles | None) -> bytes:
    """Check the schema version, find the pseudonym key, migrate. Returns the key."""
    version = _user_version(db)
    if version > len(MIGRATIONS):
        raise store_errors.newer_schema(path, version, len(MIGRATIONS))
    legacy = _legacy_key(db, version)
    if files is not None:
        secret = _key_from_file(db, files, legacy, version)
    else:  # in memory: nothing outlives the process
        secret = legacy or new_key()
    migrated = _migrate(db)
    if legacy is not None or migrated:
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM settings WHERE name = 'pseudonym_key'")
        db.execute("COMMIT")
        if files is not None:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return secret


def _key_from_file(
    db: sqlite3.Connection, files: DatabaseFiles, legacy: bytes | None, version: int
) -> bytes:
    stored = files.read_key()
    if stored is not None:
        if legacy is not None and legacy != stored:
            raise store_errors.key_conflict(files.database, files.key)
        return stored
    if legacy is not None:  # an older database: its key moves out to its own file
        files.write_key(legacy)
        return legacy
    if version >= 1 and db.execute("SELECT 1 FROM conversations LIMIT 1").fetchone():
        raise store_errors.key_missing(files.database, files.key)
    key = new_key()
    files.write_key(key)
    return key


def _user_version(db: sqlite3.Connection) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def _legacy_key(db: sqlite3.Connection, version: int) -> bytes | None:
    """The pseudonym key older versions kept in the `settings` table, if any."""
    if version < 1:
        return None
    row = db.execute("SELECT value FROM settings WHERE name = 'pseudonym_key'").fetchone()
    return None if row is None else bytes.fromhex(str(row[0]))


def _migrate(db: sqlite3.Connection) -> bool:
    """Apply the pending migrations, each in its own transaction. True if any was applied."""
    applied = False
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(db)  # read under the lock: another process may have migrated
            if version >= len(MIGRATIONS):
                db.execute("COMMIT")
                return applied
            for statement in _statements(MIGRATIONS[version]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
            applied = True
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (`executescript` would commit)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError("incomplete SQL statement at the end of a migration")
    return statements


# --- queries shared by several jobs (on the database thread) ----------------------------------


def _load_state(db: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    row = db.execute("SELECT state FROM conversations WHERE key = ?", (key,)).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def _inbox_entry(
    db: sqlite3.Connection, platform: str, key: str, event_id: str
) -> InboxEntry | None:
    row = db.execute(
        "SELECT turn, sent FROM inbox WHERE key = ? AND platform = ? AND event_id = ?",
        (key, platform, event_id),
    ).fetchone()
    if row is None:
        return None
    turn = Turn.from_storage(json.loads(row[0])) if row[0] else None
    return InboxEntry(turn=turn, sent=bool(row[1]))


def _confirm(
    db: sqlite3.Connection, sent: list[tuple[str, str, str]], answered: list[tuple[str, str]]
) -> None:
    _mark_sent(db, sent)
    db.executemany(_FORGET_RECEIVED, answered)


def _mark_sent(db: sqlite3.Connection, events: list[tuple[str, str, str]]) -> None:
    """(platform, key, event id) sent: their replies leave the inbox, the event ids stay."""
    db.executemany(
        "UPDATE inbox SET sent = 1, turn = NULL WHERE key = ? AND platform = ? AND event_id = ?",
        [(key, platform, event) for platform, key, event in events],
    )


def _personal_data(db: sqlite3.Connection, key: str) -> dict[str, Any]:
    questions = [
        str(r[0])
        for r in db.execute("SELECT text FROM unanswered WHERE key = ? ORDER BY at", (key,))
    ]
    callbacks = [
        {"telephone": r[0], "moment": r[1], "statut": r[2]}
        for r in db.execute(
            "SELECT phone, moment, status FROM callbacks WHERE key = ? ORDER BY at", (key,)
        )
    ]
    return {"state": _load_state(db, key), "unanswered": questions, "callbacks": callbacks}
