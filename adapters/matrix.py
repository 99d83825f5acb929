"""The Matrix adapter (matrix-nio ≥ 0.26): invitations, numbered choices, HTML, E2EE, exactly-once.

How an answer is never lost nor repeated:
- our own sync loop passes `since=` the cursor stored in SQLite, named after the account and its
  device (`matrix:<user id>:<device id>:next_batch`), so a database reused for another account
  never syncs from someone else's position; nio's own sync-token store is not used;
- each room's events of a sync batch go to the room's lane (`adapters/lanes.py`): rooms are
  answered concurrently, each in order, and the next sync starts at once, so a slow room
  (someone writing very fast) never holds back another; a batch's `next_batch` is stored only
  once every event of it and of every earlier batch is handled (dispatcher → send every reply →
  `confirm_sent`); a crash re-delivers everything after the stored position;
- the dispatcher drops re-delivered events (inbox keyed by the Matrix event id) or returns the
  turn it computed but never confirmed; replies are sent with transaction ids derived from the
  event id, so a reply that reached the server before a crash is deduplicated by the homeserver;
- every reply carries, in its content, the event it answers and its place in the turn
  (`fr.aiguillage.answer`); a batch that shows the bot's own answer to an event (a restored
  backup syncing from an older cursor) replays the event into the core but sends only the parts
  not already in the room;
- on the very first start (no cursor) old history is not replayed: the first sync only loads
  the room state and answers pending invitations.

The crypto store and the session file are private: 0600 files in 0700 folders.

Staff (`bot/staff/`): the adapter drains the outbox rows of platform `matrix` (to counsellors'
rooms, people's rooms, and admins, in a direct room it opens with them if needed). A
counsellors' room (`conseillers.canaux.*.matrix`, a code's `demandes.matrix`) is no
conversation: there, a reply to a request ("je prends", "jointe", "pas jointe", "orientée vers
…") or a 👍 reaction takes it or records its outcome. `/stats`, `/nonrepondues` and `/reload`
from an admin account (`admins.matrix`) are answered here and never reach the dialogue.

Logs never contain message texts, display names or user ids; rooms appear as short hashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import os
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import nio
from pydantic import ValidationError

from adapters.base import (
    HTML,
    LOCATION,
    AdapterContext,
    Backoff,
    ConfigError,
    bounded,
    make_private_dir,
    make_private_file,
    render_numbered,
)
from adapters.lanes import Lanes
from bot.callbacks.summary import staff_action
from bot.config import MatrixSection, config_error
from bot.messages import Choice, Incoming, Location, Reply, StructureCard, Turn
from bot.staff.admins import admin_command
from bot.staff.outbox import OutMessage, TryLater, Undeliverable, drain

log = logging.getLogger(__name__)

PLATFORM = "matrix"
LEGACY_CURSOR = "matrix:next_batch"  # before cursors were tied to the account
ANSWER_KEY = "fr.aiguillage.answer"  # in our replies' content: {"event_id", "part", "parts"}
LOGIN_ATTEMPTS = 6  # network errors at start-up: then a clear error instead of forever
CREDENTIALS_FILE = "matrix-credentials.json"
CRYPTO_STORE_DIR = "matrix-crypto"
SYNC_TIMEOUT_MS = 30_000
TIMELINE_LIMIT = 100  # per room and sync; longer gaps are back-filled with /messages
BACKFILL_MAX_EVENTS = 2_000
SEND_ATTEMPTS = 5
ROOM_CONCURRENCY = 64  # rooms answered at once; each room's events stay in order

DEFAULT_PASSWORD_ENV = "AIGUILLAGE_MATRIX_PASSWORD"
DEFAULT_TOKEN_ENV = "AIGUILLAGE_MATRIX_TOKEN"

# Platform-specific answers the core cannot know about (it never hears of rooms or encryption).
SHARED_ROOM_REFUSAL = (
    "Bonjour ! Je réponds seulement en conversation privée, pour protéger vos informations. "
    "Écrivez-moi dans un message direct (un salon avec vous et moi seulement)."
)
UNDECRYPTABLE_REPLY = (
    "Je n'ai pas pu lire votre message (il est chiffré et je n'ai pas reçu la clé). "
    "Pouvez-vous me le renvoyer ?"
)
ENCRYPTION_UNAVAILABLE_REPLY = (
    "Ce salon est chiffré et je ne peux pas lire les messages chiffrés ici. "
    "Créez un salon sans chiffrement avec moi, ou demandez à votre conseiller."
)

_USER_ID = re.compile(r"^@[^:\s]+:[^\s]+$")
_GEO_URI = re.compile(
    r"^geo:\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)(?:\s*,\s*-?[\d.]+)?(?:;.*)?$"
)

_UNSUPPORTED_CLASSES: tuple[tuple[type[Any], str], ...] = (
    (nio.RoomMessageImage, "image"),
    (nio.RoomEncryptedImage, "image"),
    (nio.RoomMessageAudio, "audio"),
    (nio.RoomEncryptedAudio, "audio"),
    (nio.RoomMessageVideo, "video"),
    (nio.RoomEncryptedVideo, "video"),
    (nio.RoomMessageFile, "file"),
    (nio.RoomEncryptedFile, "file"),
    (nio.StickerEvent, "sticker"),
)

T = TypeVar("T")


# --- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatrixSettings:
    homeserver: str
    user_id: str
    password: str | None
    access_token: str | None
    password_env: str
    access_token_env: str
    device_name: str = "Aiguillage"
    invite_policy: str = "anyone"  # anyone | servers
    allowed_servers: frozenset[str] = frozenset()
    shared_rooms: str = "separate"  # separate | refuse
    encryption: str = "auto"  # auto | off

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], environ: Mapping[str, str] | None = None
    ) -> MatrixSettings:
        """Validate the `matrix:` section and read the secrets it names from `environ`."""
        env = os.environ if environ is None else environ
        try:
            section = MatrixSection.model_validate(dict(raw))
        except ValidationError as exc:
            raise config_error(exc, "matrix", MatrixSection, "matrix") from None
        return cls(
            homeserver=section.homeserver.rstrip("/"),
            user_id=section.user_id,
            password=env.get(section.password_env, "").strip() or None,
            access_token=env.get(section.access_token_env, "").strip() or None,
            password_env=section.password_env,
            access_token_env=section.access_token_env,
            device_name=section.device_name,
            invite_policy=section.invite_policy,
            allowed_servers=frozenset(s.strip().lower() for s in section.allowed_servers),
            shared_rooms=section.shared_rooms,
            encryption=section.encryption,
        )


def cursor_name(user_id: str, device_id: str) -> str:
    """The stored sync position of one account's device."""
    return f"matrix:{user_id}:{device_id}:next_batch"


# --- errors at the boundary --------------------------------------------------------------------


class MatrixError(RuntimeError):
    """A Matrix error response, turned into an exception at the adapter boundary."""

    def __init__(self, response: Any) -> None:
        self.status_code = str(getattr(response, "status_code", "") or "")
        self.retry_after_ms = getattr(response, "retry_after_ms", None)
        super().__init__(f"{type(response).__name__} {self.status_code}".strip())

    @property
    def transient(self) -> bool:
        """Rate limits, server errors and unknown errors may succeed later; M_FORBIDDEN won't."""
        code = self.status_code
        if code in ("M_LIMIT_EXCEEDED", "429") or code.startswith("5") or not code:
            return True
        return not code.startswith("M_") and not code.startswith("4")


def check(response: T) -> T:
    """Raise `MatrixError` for nio's error values; return real responses unchanged."""
    if isinstance(response, nio.ErrorResponse):
        raise MatrixError(response)
    return response


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, MatrixError):
        return exc.transient
    # SendRetryError: nio could not share the room key yet (encrypted rooms); try again later.
    return isinstance(
        exc, aiohttp.ClientError | TimeoutError | ConnectionError | nio.SendRetryError
    )


# --- pure helpers (rendering and parsing) ------------------------------------------------------


def matrix_link(user_id: str) -> str:
    """The link a counsellor hands out: it opens a chat with the bot in any Matrix client."""
    if not _USER_ID.match(user_id):
        raise ConfigError(f"identifiant Matrix invalide « {user_id} » (attendu : @nom:serveur).")
    return f"https://matrix.to/#/{user_id}"


def html_text(text: str) -> str:
    return html.escape(text.replace("\r\n", "\n"), quote=True).replace("\n", "<br>")


def render_html(reply: Reply) -> str:
    out = html_text(reply.text)
    if reply.choices:
        items = "".join(f"<li>{html_text(choice.label)}</li>" for choice in reply.choices)
        out += f"<ol>{items}</ol>"
    return out


def reply_content(
    reply: Reply, in_reply_to: str | None = None, answers: tuple[str, int, int] | None = None
) -> dict[str, Any]:
    """An `m.room.message` content: plain body with numbered choices, and safe HTML.

    `answers` = (event id, part, parts): which event this reply answers, recorded in the content
    so that a later sync can tell the event was already answered."""
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": render_numbered(reply),
        "format": "org.matrix.custom.html",
        "formatted_body": render_html(reply),
    }
    if in_reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
    if answers is not None:
        event_id, part, parts = answers
        content[ANSWER_KEY] = {"event_id": event_id, "part": part, "parts": parts}
    return content


@dataclass(slots=True)
class RoomEvents:
    """One room's events of one sync batch: what its lane answers, in order."""

    room_id: str
    events: list[Any]
    answered: dict[str, Answered]  # what the bot's own messages in the batch say they answered
    batch: int


@dataclass(slots=True)
class Batch:
    """A sync batch whose rooms are being answered; its position is stored when none waits."""

    number: int
    next_batch: str
    waiting: int


@dataclass(slots=True)
class Answered:
    """The parts of an event's answer already in the room."""

    parts: set[int]
    total: int

    @property
    def complete(self) -> bool:
        return self.parts >= set(range(self.total))


def answered_in(events: Iterable[Any], me: str) -> dict[str, Answered]:
    """Event id -> what the bot's own messages among `events` say they answered."""
    found: dict[str, Answered] = {}
    for event in events:
        if getattr(event, "sender", None) != me:
            continue
        source = getattr(event, "source", None) or {}
        marker = (source.get("content") or {}).get(ANSWER_KEY)
        if not isinstance(marker, dict) or not isinstance(marker.get("event_id"), str):
            continue
        part, total = marker.get("part"), marker.get("parts")
        if isinstance(part, int) and isinstance(total, int) and 0 <= part < total <= 100:
            entry = found.setdefault(marker["event_id"], Answered(set(), total))
            entry.parts.add(part)
    return found


def geo_uri(card: StructureCard) -> str | None:
    """`geo:48.69000,6.18000` for a card with coordinates (RFC 5870)."""
    if card.latitude is None or card.longitude is None:
        return None
    return f"geo:{card.latitude:.5f},{card.longitude:.5f}"


def location_content(card: StructureCard) -> dict[str, Any] | None:
    """An `m.location` event for a reply about one place: clients show it on a map."""
    uri = geo_uri(card)
    if uri is None:
        return None
    where = ", ".join(p for p in (card.adresse, card.commune) if p)
    body = f"{card.nom} — {where} ({uri})" if where else f"{card.nom} ({uri})"
    return {
        "msgtype": "m.location",
        "body": body,
        "geo_uri": uri,
        # the extensible-events form newer clients read (MSC3488)
        "org.matrix.msc3488.location": {"uri": uri, "description": card.nom},
        "org.matrix.msc1767.text": body,
    }


def turn_contents(
    replies: Sequence[Reply], in_reply_to: str | None, event_id: str
) -> list[dict[str, Any]]:
    """The messages of one answer: each reply's text, and after a reply about one place its
    `m.location`. Every part records which event it answers and how many parts there are."""
    parts: list[dict[str, Any]] = []
    for reply in replies:
        parts.append(reply_content(reply, in_reply_to if not parts else None))
        place = reply.place
        location = location_content(place) if place is not None else None
        if location is not None:
            parts.append(location)
    for index, content in enumerate(parts):
        content[ANSWER_KEY] = {"event_id": event_id, "part": index, "parts": len(parts)}
    return parts


def text_content(text: str, in_reply_to: str | None = None) -> dict[str, Any]:
    return reply_content(Reply(text), in_reply_to)


def parse_geo_uri(uri: str) -> Location | None:
    """`geo:48.69,6.18;u=35` → Location(48.69, 6.18); None when it is not a valid position."""
    match = _GEO_URI.match(uri.strip()[:200])
    if not match:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return Location(lat, lon)


def strip_reply_fallback(body: str) -> str:
    """Drop the "> <@user> quoted text" lines clients prepend to replies."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    rest = "\n".join(lines[index:]).strip()
    return rest or body


def conversation_key(room_id: str, user_id: str) -> str:
    """One conversation per person and room: room id + user id."""
    return f"{room_id}|{user_id}"


def to_incoming(event: Any, conversation: str) -> Incoming | None:
    """The core's view of a room event (valid, bounded text), or None for events not answered."""
    incoming = _to_incoming(event, conversation)
    return None if incoming is None else bounded(incoming)


def _to_incoming(event: Any, conversation: str) -> Incoming | None:
    common = {"platform": PLATFORM, "conversation": conversation, "event_id": event.event_id}
    if isinstance(event, nio.RoomMessageNotice):
        return None  # other bots talk in notices; answering them makes loops
    if isinstance(event, nio.RoomMessageText | nio.RoomMessageEmote):
        relates = (event.source.get("content") or {}).get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace":
            return None  # an edit of an earlier message: that one was already answered
        return Incoming(**common, text=strip_reply_fallback(str(event.body or "")))
    if isinstance(event, nio.RoomMessageUnknown):
        content = event.content or {}
        if event.msgtype == "m.location":
            location = parse_geo_uri(str(content.get("geo_uri") or ""))
            if location is None:
                return Incoming(**common, unsupported="location")
            return Incoming(**common, location=location)
        return Incoming(**common, unsupported=str(event.msgtype).removeprefix("m.") or "unknown")
    for cls, kind in _UNSUPPORTED_CLASSES:
        if isinstance(event, cls):
            return Incoming(**common, unsupported=kind)
    return None


def txn_id(event_id: str, index: int) -> str:
    """Stable per (event, reply): the homeserver drops a resend after a crash."""
    return f"aig{hashlib.sha256(event_id.encode()).hexdigest()[:32]}.{index}"


def _tag(value: str) -> str:
    """A short hash for logs: lets one follow a room without showing its id."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


# --- credentials -------------------------------------------------------------------------------


def load_credentials(path: Path, settings: MatrixSettings) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("homeserver") != settings.homeserver or data.get("user_id") != settings.user_id:
        return None
    if not data.get("device_id") or not data.get("access_token"):
        return None
    return {k: str(v) for k, v in data.items()}


def save_credentials(path: Path, data: Mapping[str, str]) -> None:
    """Write atomically, readable by the bot's user only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(dict(data), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# --- the adapter -------------------------------------------------------------------------------


class _Stopped(Exception):
    """Stop was requested while a reply was still being retried: leave the cursor alone."""


class MatrixAdapter:
    name = PLATFORM
    capabilities = frozenset({HTML, LOCATION})

    def __init__(
        self,
        context: AdapterContext,
        settings: MatrixSettings,
        backoff: Backoff | None = None,
    ) -> None:
        self._context = context
        self._settings = settings
        self._dispatcher = context.dispatcher
        self._store = context.store
        self._staff = context.staff
        self._dm_rooms: dict[str, str] = {}  # admin user id -> direct room opened with them
        self._data_dir = Path(context.data_dir)
        self._backoff = backoff or Backoff(base_s=0.5, cap_s=60.0)
        self._encryption = settings.encryption == "auto" and bool(nio.crypto.ENCRYPTION_ENABLED)
        self._client: nio.AsyncClient | None = None
        self._stop = asyncio.Event()
        self._warned_rooms: set[str] = set()
        self._answered: dict[str, dict[str, Answered]] = {}  # room -> answers seen in the batch
        self._batches: deque[Batch] = deque()  # synced, not yet handled with all before them
        self._batches_taken = 0
        self._position_lock = asyncio.Lock()
        self._cursor = LEGACY_CURSOR  # named after the account and device once logged in
        self._restored = False  # the saved session of this very account was reused
        self.ready = asyncio.Event()  # logged in and the cursor exists: new messages are answered
        self.synced = asyncio.Event()  # set after each stored batch (tests and health checks)
        self.sent = 0  # messages the homeserver accepted since start (tests and benchmarks)

    @property
    def client(self) -> nio.AsyncClient:
        if self._client is None:
            raise RuntimeError("the Matrix adapter is not running")
        return self._client

    @property
    def encryption(self) -> bool:
        return self._encryption

    @property
    def credentials_path(self) -> Path:
        return self._data_dir / CREDENTIALS_FILE

    # --- life cycle ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        if self._settings.encryption == "auto" and not self._encryption:
            log.warning(
                "matrix: end-to-end encryption unavailable (install aiguillage[e2e]); "
                "messages in encrypted rooms cannot be read"
            )
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            # nio's own warnings name users, devices and rooms: keep them out of the logs.
            logging.getLogger("nio").setLevel(logging.ERROR)
        self._client = await self._login()
        drainer = None
        if self._staff is not None:
            drainer = asyncio.ensure_future(self._drain(stop))
        try:
            await self._serve(stop)
        finally:
            if drainer is not None:
                drainer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await drainer
            self.ready.clear()
            await self._client.close()
            self._client = None

    async def _login(self) -> nio.AsyncClient:
        settings = self._settings
        make_private_dir(self._data_dir)
        store_dir = make_private_dir(self._data_dir / CRYPTO_STORE_DIR)
        config = nio.AsyncClientConfig(
            encryption_enabled=self._encryption,
            store_sync_tokens=False,
            max_limit_exceeded=0,  # 429s come back to our own back-off loop
            max_timeouts=2,
            request_timeout=SYNC_TIMEOUT_MS / 1000 + 30,
        )
        backoff_attempt = 0
        while True:
            client = nio.AsyncClient(
                settings.homeserver, settings.user_id, store_path=str(store_dir), config=config
            )
            try:
                await self._authenticate(client)
                _make_private_tree(store_dir)
                self._cursor = cursor_name(settings.user_id, str(client.device_id))
                return client
            except Exception as exc:
                await client.close()
                if isinstance(exc, ConfigError) or not is_transient(exc):
                    raise
                backoff_attempt += 1
                if backoff_attempt >= LOGIN_ATTEMPTS and not isinstance(exc, MatrixError):
                    host = urlsplit(settings.homeserver).netloc
                    raise ConfigError(
                        f"matrix : le serveur {host} ne répond pas après {LOGIN_ATTEMPTS} essais "
                        f"({type(exc).__name__}). Vérifiez matrix.homeserver et l'accès au "
                        "réseau. / The homeserver does not answer: check matrix.homeserver."
                    ) from exc
                delay = self._backoff.delay(backoff_attempt - 1)
                log.warning("matrix: login failed (%s), retrying in %.1f s", exc, delay)
                if await _wait(self._stop, delay):
                    raise
            # a fresh client for the next attempt

    async def _authenticate(self, client: nio.AsyncClient) -> None:
        settings = self._settings
        saved = load_credentials(self.credentials_path, settings)
        if saved is not None:
            client.restore_login(settings.user_id, saved["device_id"], saved["access_token"])
            try:
                check(await client.whoami())
                log.info("matrix: session restored (device reused)")
                self._restored = True
                return
            except MatrixError as exc:
                if exc.transient:
                    raise
                log.warning("matrix: saved session refused (%s), logging in again", exc)
                client.access_token = ""
        if settings.access_token:
            client.access_token = settings.access_token
            who = check(await client.whoami())
            if not who.device_id:
                raise ConfigError(
                    f"matrix : le jeton de {settings.access_token_env} n'est lié à aucun appareil."
                )
            client.restore_login(settings.user_id, who.device_id, settings.access_token)
            log.info("matrix: logged in with the access token from the environment")
            return
        if not settings.password:
            raise ConfigError(_missing_secret(settings))
        response = await client.login(settings.password, device_name=settings.device_name)
        try:
            check(response)
        except MatrixError as exc:
            if exc.transient:
                raise
            raise ConfigError(
                f"matrix : connexion refusée par le serveur ({exc.status_code}). Vérifiez "
                f"« user_id » et le mot de passe de {settings.password_env}."
            ) from exc
        save_credentials(
            self.credentials_path,
            {
                "homeserver": settings.homeserver,
                "user_id": settings.user_id,
                "device_id": str(response.device_id),
                "access_token": str(response.access_token),
            },
        )
        log.info("matrix: logged in with the password; device saved for restarts")

    async def _stored_cursor(self) -> str | None:
        """This account and device's sync position. A position saved before cursors carried the
        account is adopted only when the saved session of this very account was reused."""
        cursor = await self._store.get_cursor(self._cursor)
        if cursor is None and self._restored:
            cursor = await self._store.get_cursor(LEGACY_CURSOR)
            if cursor is not None:
                log.info("matrix: sync position of the previous version adopted")
                await self._store.set_cursor(self._cursor, cursor)
        return cursor

    async def _serve(self, stop: asyncio.Event) -> None:
        """Sync, hand each room's new events to its lane, sync again at once.

        A batch's `next_batch` is stored once its rooms and every earlier batch's are handled
        (`_room_done`); the rooms themselves are answered in their own lanes, so a slow room
        (someone writing very fast) never holds back another."""
        cursor = await self._stored_cursor()
        full_state = True
        attempt = 0
        lanes: Lanes[RoomEvents] = Lanes(self._handle_room, self._room_done, ROOM_CONCURRENCY)
        try:
            while not stop.is_set():
                try:
                    if cursor is None:
                        cursor = await self._first_sync(stop)
                        full_state = False
                        if cursor is None:
                            return
                        continue
                    self.ready.set()
                    await lanes.room()
                    response = await self._sync(cursor, full_state, stop)
                    if response is None:
                        return
                    await self._housekeeping()
                    number = self._batches_taken
                    rooms = await self._take_batch(response, cursor, number)
                    self._batches.append(Batch(number, response.next_batch, len(rooms)))
                    self._batches_taken += 1
                    for work in rooms:
                        lanes.push(work.room_id, work)
                    await self._store_handled_position()
                    cursor, full_state, attempt = response.next_batch, False, 0
                except _Stopped:
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    delay = self._backoff.delay(attempt)
                    if isinstance(exc, MatrixError) and exc.retry_after_ms:
                        delay = max(delay, exc.retry_after_ms / 1000)
                    attempt += 1
                    log.warning(
                        "matrix: sync batch failed (%s: %s), retrying in %.1f s",
                        type(exc).__name__,
                        exc,
                        delay,
                        exc_info=not is_transient(exc),
                    )
                    if await _wait(stop, delay):
                        return
        finally:
            await lanes.join()

    async def _first_sync(self, stop: asyncio.Event) -> str | None:
        """No cursor yet: load room state, answer pending invitations, skip old messages."""
        client = self.client
        client.next_batch = None
        first_filter = {
            "room": {"timeline": {"limit": 1}},
            "presence": {"not_types": ["*"]},
        }
        response = await _until_stopped(
            stop, client.sync(timeout=0, sync_filter=first_filter, full_state=True)
        )
        if response is None:
            return None
        check(response)
        await self._housekeeping()
        await self._handle_invites(response)
        await self._store.set_cursor(self._cursor, response.next_batch)
        log.info("matrix: first start, history before now is not replayed")
        return str(response.next_batch)

    async def _sync(self, since: str, full_state: bool, stop: asyncio.Event) -> Any:
        client = self.client
        # nio skips a response whose next_batch equals the last one it saw; a batch we retry
        # must be processed (decrypted) again.
        client.next_batch = None
        sync_filter = {
            "room": {"timeline": {"limit": TIMELINE_LIMIT}},
            "presence": {"not_types": ["*"]},
        }
        response = await _until_stopped(
            stop,
            client.sync(
                timeout=SYNC_TIMEOUT_MS,
                since=since,
                full_state=True if full_state else None,
                sync_filter=sync_filter,
            ),
        )
        return None if response is None else check(response)

    async def _housekeeping(self) -> None:
        """What nio's sync_forever does between syncs for E2EE: keys and to-device messages."""
        client = self.client
        if not self._encryption or client.olm is None:
            return
        calls: list[Callable[[], Awaitable[Any]]] = [client.send_to_device_messages]
        if client.should_upload_keys:
            calls.append(client.keys_upload)
        if client.should_query_keys:
            calls.append(client.keys_query)
        if client.should_claim_keys:
            users = client.get_users_for_key_claiming()
            calls.append(lambda: client.keys_claim(users))
        for call in calls:
            result = await call()
            for item in result if isinstance(result, list) else [result]:
                if isinstance(item, nio.ErrorResponse):
                    log.warning("matrix: key maintenance failed (%s)", MatrixError(item))

    # --- one batch -----------------------------------------------------------------------------

    async def _take_batch(self, response: Any, since: str, number: int) -> list[RoomEvents]:
        """Accept invitations; each joined room's events to answer in this batch."""
        await self._handle_invites(response)
        rooms = []
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._backfill(room_id, info.timeline.prev_batch, since) + events
            # A room we (re)joined in this batch comes with its history: answer only what
            # follows our join (the greeting starts the conversation).
            joined_at = max(
                (i for i, event in enumerate(events) if self._is_own_join(event)), default=None
            )
            if joined_at is not None:
                events = events[joined_at:]
            if not events:
                continue  # receipts, typing: nothing for a lane
            answered = answered_in(events, self._settings.user_id)
            rooms.append(RoomEvents(room_id, events, answered, number))
        return rooms

    async def _handle_room(self, work: RoomEvents) -> bool:
        """Answer one room's events of one batch, in order. A failure the homeserver may recover
        from is retried (answers are deduplicated); False only when stopped before the end."""
        room_id = work.room_id
        self._answered[room_id] = work.answered
        someone_left = False
        for event in work.events:
            attempt = 0
            while True:
                if self._stop.is_set():
                    return False
                try:
                    if isinstance(event, nio.RoomMemberEvent):
                        someone_left |= await self._on_member(room_id, event)
                    else:
                        await self._on_message(room_id, event)
                    break
                except _Stopped:
                    return False
                except Exception as exc:
                    if not is_transient(exc):
                        log.exception("matrix: event skipped after an error (room %s)",
                                      _tag(room_id))  # fmt: skip
                        break
                    delay = self._backoff.delay(attempt)
                    attempt += 1
                    log.warning("matrix: event in room %s failed (%s), retrying in %.1f s",
                                _tag(room_id), exc, delay)  # fmt: skip
                    if await _wait(self._stop, delay):
                        return False
        if someone_left:
            try:
                await self._leave_if_alone(room_id)
            except Exception as exc:  # the room stays; the next departure tries again
                log.warning("matrix: could not leave room %s (%s)", _tag(room_id), exc)
        return True

    async def _room_done(self, work: RoomEvents) -> None:
        for batch in self._batches:
            if batch.number == work.batch:
                batch.waiting -= 1
                break
        await self._store_handled_position()

    async def _store_handled_position(self) -> None:
        """Store the `next_batch` of the last batch handled with every batch before it."""
        async with self._position_lock:
            position = None
            while self._batches and self._batches[0].waiting <= 0:
                position = self._batches.popleft().next_batch
            if position is not None:
                await self._store.set_cursor(self._cursor, position)
                self.synced.set()
                self.synced.clear()

    async def _backfill(self, room_id: str, prev_batch: str, since: str) -> list[Any]:
        """Events the sync left out (more than TIMELINE_LIMIT while we were away), oldest first."""
        client = self.client
        older: list[Any] = []
        start = prev_batch
        while len(older) < BACKFILL_MAX_EVENTS:
            page = check(
                await client.room_messages(
                    room_id, start=start, end=since, direction=nio.MessageDirection.back, limit=100
                )
            )
            older.extend(page.chunk)
            if not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        log.info("matrix: back-filled %d event(s) in room %s", len(older), _tag(room_id))
        return list(reversed(older))

    async def _handle_invites(self, response: Any) -> None:
        me = self._settings.user_id
        for room_id, info in response.rooms.invite.items():
            inviter = None
            for event in info.invite_state:
                if (
                    isinstance(event, nio.InviteMemberEvent)
                    and event.state_key == me
                    and event.membership == "invite"
                ):
                    inviter = event.sender
            if inviter is None:
                continue
            if self._invite_allowed(inviter):
                check(await self.client.join(room_id))
                log.info("matrix: invitation accepted (room %s)", _tag(room_id))
            else:
                check(await self.client.room_leave(room_id))
                log.info("matrix: invitation refused by invite_policy (room %s)", _tag(room_id))

    def _invite_allowed(self, inviter: str) -> bool:
        if self._settings.invite_policy == "anyone":
            return True
        server = inviter.split(":", 1)[1].lower() if ":" in inviter else ""
        return server in self._settings.allowed_servers

    def _is_own_join(self, event: Any) -> bool:
        return (
            isinstance(event, nio.RoomMemberEvent)
            and event.state_key == self._settings.user_id
            and event.membership == "join"
            and event.prev_membership != "join"
        )

    async def _on_member(self, room_id: str, event: Any) -> bool:
        """Greet after our own join; report whether someone else left."""
        me = self._settings.user_id
        if event.state_key != me:
            return event.membership in ("leave", "ban") and event.prev_membership == "join"
        if event.membership != "join" or event.prev_membership == "join":
            return False
        if room_id in self._staff_rooms():
            log.info("matrix: joined a counsellors' room (room %s)", _tag(room_id))
            return False  # no greeting: this room is no conversation
        room = self.client.rooms.get(room_id)
        others = self._others(room)
        unsigned = event.source.get("unsigned") or {}
        person = unsigned.get("prev_sender") if event.prev_membership == "invite" else None
        if person == me or (person is not None and person not in others):
            person = None
        if person is None and len(others) == 1:
            person = next(iter(others))
        if len(others) > 1 and self._settings.shared_rooms == "refuse":
            await self._send_text(room_id, SHARED_ROOM_REFUSAL, event.event_id)
            check(await self.client.room_leave(room_id))
            log.info("matrix: left a shared room (shared_rooms: refuse) (room %s)", _tag(room_id))
            return False
        if person is None:
            return False
        incoming = Incoming(
            platform=PLATFORM,
            conversation=conversation_key(room_id, person),
            event_id=event.event_id,
            start="",
        )
        await self._answer(room_id, incoming, in_reply_to=None)
        return False

    async def _on_message(self, room_id: str, event: Any) -> None:
        me = self._settings.user_id
        sender = getattr(event, "sender", None)
        if sender is None or sender == me:
            return
        if self._staff is not None:
            if room_id in self._staff_rooms():
                await self._staff_event(room_id, event)
                return
            if await self._admin_command(room_id, event, sender):
                return
        room = self.client.rooms.get(room_id)
        shared = len(self._others(room)) > 1
        if isinstance(event, nio.MegolmEvent):
            await self._undecryptable(room_id, event)
            return
        incoming = to_incoming(event, conversation_key(room_id, sender))
        if incoming is None:
            return
        if shared and self._settings.shared_rooms == "refuse":
            await self._send_text(room_id, SHARED_ROOM_REFUSAL, event.event_id)
            return
        await self._answer(room_id, incoming, in_reply_to=event.event_id if shared else None)

    async def _undecryptable(self, room_id: str, event: Any) -> None:
        client = self.client
        if self._encryption and client.olm is not None:
            log.warning("matrix: could not decrypt a message (room %s)", _tag(room_id))
            with contextlib.suppress(Exception):
                await client.request_room_key(event)
            await self._send_text(room_id, UNDECRYPTABLE_REPLY, event.event_id)
            return
        if room_id not in self._warned_rooms:
            self._warned_rooms.add(room_id)
            log.warning(
                "matrix: encrypted room %s but encryption is %s; install aiguillage[e2e]",
                _tag(room_id),
                "off" if self._settings.encryption == "off" else "unavailable",
            )
        await self._send_text(room_id, ENCRYPTION_UNAVAILABLE_REPLY, event.event_id)

    async def _answer(self, room_id: str, incoming: Incoming, in_reply_to: str | None) -> None:
        """Handle the event, send the parts of its answer not already in the room, confirm.

        The event always goes through the core, so that the conversation's state follows what
        the person saw, even when a restored backup syncs over messages already answered."""
        incoming = bounded(incoming)
        turn: Turn = await self._dispatcher.handle(incoming)
        seen = self._answered.get(room_id, {}).get(incoming.event_id)
        if seen is not None:
            log.info("matrix: event already answered in room %s; not sent again", _tag(room_id))
        contents = turn_contents(turn.replies, in_reply_to, incoming.event_id)
        for index, content in enumerate(contents):
            if seen is not None and (seen.complete or index in seen.parts):
                continue
            await self._send(room_id, content, txn_id(incoming.event_id, index))
        await self._dispatcher.confirm_sent(incoming)

    async def _send_text(self, room_id: str, text: str, event_id: str) -> None:
        if event_id in self._answered.get(room_id, {}):
            return
        content = reply_content(Reply(text), answers=(event_id, 0, 1))
        await self._send(room_id, content, txn_id(event_id, 0))

    async def _send(self, room_id: str, content: dict[str, Any], txn: str) -> None:
        """Send one message; retry transient failures; give up on permanent ones (logged)."""
        client = self.client
        for attempt in range(SEND_ATTEMPTS):
            try:
                if self._encryption and client.should_query_keys:
                    check(await client.keys_query())
                check(
                    await client.room_send(
                        room_id,
                        "m.room.message",
                        content,
                        tx_id=txn,
                        ignore_unverified_devices=True,
                    )
                )
                self.sent += 1
                return
            except Exception as exc:
                if not is_transient(exc):
                    log.warning(
                        "matrix: reply dropped in room %s (%s: %s)",
                        _tag(room_id),
                        type(exc).__name__,
                        exc,
                    )
                    return
                if attempt == SEND_ATTEMPTS - 1:
                    raise
                delay = self._backoff.delay(attempt)
                if isinstance(exc, MatrixError) and exc.retry_after_ms:
                    delay = max(delay, exc.retry_after_ms / 1000)
                log.warning("matrix: send failed (%s), retrying in %.1f s", exc, delay)
                if await _wait(self._stop, delay):
                    raise _Stopped from exc

    # --- staff: counsellors' rooms, admins, the outbox -----------------------------------------

    def _staff_rooms(self) -> set[str]:
        return self._staff.staff_chats(PLATFORM) if self._staff is not None else set()

    async def _admin_command(self, room_id: str, event: Any, sender: str) -> bool:
        assert self._staff is not None
        if not isinstance(event, nio.RoomMessageText):
            return False
        command = admin_command(strip_reply_fallback(str(event.body or "")))
        if command is None or not self._staff.admins.is_admin(PLATFORM, sender):
            return False
        if event.event_id in self._answered.get(room_id, {}):
            return True  # answered before a restart
        log.info("matrix: admin command %s (room %s)", command, _tag(room_id))
        answer = await self._staff.admins.answer(command)
        content = reply_content(Reply(answer), answers=(event.event_id, 0, 1))
        await self._send(room_id, content, txn_id(event.event_id, 0))
        return True

    async def _staff_event(self, room_id: str, event: Any) -> None:
        """In a counsellors' room: a reply or a reaction to a request takes it or records its
        outcome; anything else is left alone."""
        assert self._staff is not None
        target, text = _staff_target(event)
        if target is None:
            return
        callback_id = await self._staff.outbox.callback_of(PLATFORM, target)
        if callback_id is None:
            return
        action, note = staff_action(text)
        if action is None:
            return
        room = self.client.rooms.get(room_id)
        sender = str(event.sender)
        name = room.user_name(sender) if room is not None else None
        name = name or sender.split(":", 1)[0].lstrip("@")
        seen_as = (PLATFORM, str(event.event_id))  # an event synced again is not obeyed twice
        notice = await self._staff.desk.act_on_reply(
            callback_id, action, note, name, PLATFORM, seen_as
        )
        if notice:
            await self._send(room_id, reply_content(Reply(notice)), txn_id(event.event_id, 0))

    async def _drain(self, stop: asyncio.Event) -> None:
        assert self._staff is not None
        await self.ready.wait()
        await drain(self._staff.outbox, PLATFORM, self._send_outbox, stop, self._staff.poll_s)

    async def _send_outbox(self, message: OutMessage) -> str:
        """One outbox message to a counsellors' room, a person's room or an admin."""
        target = message.target
        if target.startswith("@"):
            room_id = await self._direct_room(target)
        else:
            room_id = target.split("|", 1)[0]  # a person's conversation: "room|user"
        choices = tuple(Choice(a.id, a.label) for a in message.actions) if message.to_person else ()
        content = reply_content(Reply(message.text, choices))
        try:
            response = check(
                await self.client.room_send(
                    room_id, "m.room.message", content, tx_id=f"aigout{message.id}",
                    ignore_unverified_devices=True,
                )
            )  # fmt: skip
        except Exception as exc:
            if is_transient(exc):
                raise TryLater(type(exc).__name__) from exc
            raise Undeliverable(f"refusé par le serveur ({exc})") from exc
        self.sent += 1
        return str(response.event_id)

    async def _direct_room(self, user_id: str) -> str:
        """A room with only the bot and `user_id` (an admin); opened if there is none."""
        known = self._dm_rooms.get(user_id)
        if known is not None:
            return known
        me = self._settings.user_id
        for room_id, room in self.client.rooms.items():
            members = set(room.users) | set(room.invited_users)
            if members == {me, user_id} and room_id not in self._staff_rooms():
                self._dm_rooms[user_id] = str(room_id)
                return str(room_id)
        try:
            response = check(
                await self.client.room_create(
                    is_direct=True, invite=[user_id], preset=nio.RoomPreset.trusted_private_chat
                )
            )
        except Exception as exc:
            if is_transient(exc):
                raise TryLater(type(exc).__name__) from exc
            raise Undeliverable("salon direct impossible à ouvrir") from exc
        self._dm_rooms[user_id] = str(response.room_id)
        return str(response.room_id)

    def _others(self, room: Any) -> set[str]:
        if room is None:
            return set()
        me = self._settings.user_id
        return {user for user in room.users if user != me}

    async def _leave_if_alone(self, room_id: str) -> None:
        room = self.client.rooms.get(room_id)
        if room is None or self._others(room):
            return
        check(await self.client.room_leave(room_id))
        with contextlib.suppress(MatrixError):
            check(await self.client.room_forget(room_id))
        log.info("matrix: left room %s (nobody else in it)", _tag(room_id))


def _staff_target(event: Any) -> tuple[str | None, str]:
    """(the event replied or reacted to, the text or the reaction's key)."""
    source = getattr(event, "source", None) or {}
    content = source.get("content") or {}
    relates = content.get("m.relates_to") or {}
    if relates.get("rel_type") == "m.annotation":
        return relates.get("event_id"), str(relates.get("key") or "")
    reply = (relates.get("m.in_reply_to") or {}).get("event_id")
    if reply and isinstance(event, nio.RoomMessageText):
        return str(reply), strip_reply_fallback(str(event.body or ""))
    return None, ""


async def _until_stopped(stop: asyncio.Event, awaitable: Awaitable[T]) -> T | None:
    """Await `awaitable` unless `stop` is set first (then cancel it and return None)."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        stopper.cancel()
        raise
    stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None


async def _wait(stop: asyncio.Event, delay: float) -> bool:
    """Sleep `delay` seconds or until stop; True when stop was requested."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        return False
    return True


def _make_private_tree(folder: Path) -> None:
    """The crypto store: the folder 0700, every file in it 0600."""
    make_private_dir(folder)
    for path in folder.rglob("*"):
        if path.is_dir():
            make_private_dir(path)
        else:
            make_private_file(path)


def _missing_secret(settings: MatrixSettings) -> str:
    return (
        f"matrix : aucun secret pour se connecter. Définissez la variable d'environnement "
        f"{settings.password_env} (mot de passe du compte {settings.user_id}) ou "
        f"{settings.access_token_env} (jeton d'accès). Les secrets ne vont jamais dans le "
        f"fichier de configuration."
    )


def check_settings(raw: Mapping[str, Any], data_dir: str) -> MatrixSettings:
    """The `matrix:` settings are valid and a secret (or a saved session) exists."""
    settings = MatrixSettings.parse(raw)
    saved = load_credentials(Path(data_dir) / CREDENTIALS_FILE, settings)
    if not settings.password and not settings.access_token and saved is None:
        raise ConfigError(_missing_secret(settings))
    return settings


def create(context: AdapterContext) -> MatrixAdapter:
    """Build the adapter from the `matrix:` settings; raises ConfigError with a French message."""
    settings = check_settings(context.settings, context.data_dir)
    return MatrixAdapter(context, settings)
