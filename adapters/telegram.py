"""The Telegram adapter: python-telegram-bot's `ExtBot` for the HTTP calls, our own update loop.

Exactly-once, in short: each batch of `getUpdates` is kept in SQLite, sealed (`Store.receive`),
in the same transaction as the next offset (`telegram:<bot id>:offset`, the bot id read from
`getMe`); only then does the next `getUpdates` confirm it to Telegram. Each update is forgotten
once the dispatcher handled it, Telegram accepted its replies and the dispatcher was told
(`confirm_sent`). A crash before that point: the update is still kept and is handled first at
the next start; the dispatcher's inbox then returns the stored turn if it was not sent yet, or
nothing if it was; the parts of a multi-message turn already sent are skipped
(`telegram:<bot id>:progress`). The one message in flight at a hard
kill (accepted by Telegram, not yet recorded) is sent again: Telegram has no idempotency key, and
a repeat is better than a loss. PTB's `Updater` is not used: it keeps the offset in memory only.

Event ids are `<bot id>:<update id>` (update ids are unique per bot only), so a database reused
for another bot never mistakes its updates for old ones. Telegram itself forgets the updates a
later offset confirmed, so an older stored offset (a restored backup) re-delivers nothing that
was answered; a stored offset that is too old to trust (update ids restart at random after a week
without updates) is not used: the first `getUpdates` then asks for the earliest unconfirmed ones.

Long polling is the default; webhook mode answers Telegram's POST only after the same steps, so
Telegram re-delivers what was not handled. Updates from one chat are handled in order; different
chats run concurrently (bounded by `concurrency`) in their own lanes (`adapters/lanes.py`): a
chat slowed down (someone writing very fast, Telegram's one message a second per chat) never
holds back another.

Staff (`bot/staff/`): the adapter drains the outbox rows of platform `telegram` (requests to a
counsellors' group with a "Je prends" button, messages to people and admins); a press on a
`staff:` button in a counsellors' group takes the request or records its outcome; `/stats`,
`/nonrepondues` and `/reload` from an admin account (`admins.telegram`) are answered here and
never reach the dialogue.

Logs carry update ids and kinds only: never texts, names or phone numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import ValidationError
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from adapters.base import BUTTONS, HTML, LOCATION, AdapterContext, Backoff, ConfigError, bounded
from adapters.lanes import Lanes
from adapters.telegram_render import (
    MAX_TEXT,
    OutMessage,
    callback_data,
    deep_link,
    needs_mapping,
    render_replies,
    split_text,
)
from bot.callbacks.summary import staff_action
from bot.config import TelegramSection, WebhookSection, config_error
from bot.dispatcher import ConversationLocks, Dispatcher
from bot.messages import Incoming, Location, Reply, Turn
from bot.staff.admins import admin_command
from bot.staff.outbox import OutMessage as StaffMessage
from bot.staff.outbox import TryLater, Undeliverable, drain
from bot.store import Store

__all__ = [
    "TelegramAdapter",
    "TelegramSettings",
    "create",
    "deep_link",
    "event_id_for",
    "offset_cursor",
    "to_incoming",
    "update_id_of",
]

log = logging.getLogger(__name__)

PLATFORM = "telegram"
CHOICE_CURSOR = "telegram:choice:"  # + digest -> long choice id (the same for every bot)
OFFSET_TRUSTED_S = 6 * 24 * 3600  # update ids restart at random after a week without updates
STARTUP_ATTEMPTS = 6  # getMe at start-up: then a clear error instead of retrying forever
ALLOWED_UPDATES = ["message", "callback_query"]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
DEFAULT_TOKEN_ENV = "AIGUILLAGE_TELEGRAM_TOKEN"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
APOLOGY = (
    "Désolé, je n'ai pas réussi à traiter votre dernier message à cause d'un problème technique. "
    "Vous pouvez réessayer dans un moment, ou écrire /conseiller pour parler à une personne."
)

# English aliases of the core's French commands.
COMMAND_ALIASES = {
    "help": "aide",
    "restart": "recommencer",
    "mydata": "mes_donnees",
    "forget": "oubli",
    "human": "conseiller",
}
COMMANDS_FR = [
    ("start", "Commencer"),
    ("aide", "Ce que je sais faire"),
    ("recommencer", "Repartir de zéro"),
    ("mes_donnees", "Voir ce que je garde sur vous"),
    ("oubli", "Effacer vos données"),
    ("conseiller", "Être rappelé par un conseiller"),
]
COMMANDS_EN = [
    ("start", "Start"),
    ("help", "What I can do"),
    ("restart", "Start over"),
    ("mydata", "See what I keep about you"),
    ("forget", "Erase your data"),
    ("human", "Get a call back from a counsellor"),
]
UNSUPPORTED_KINDS = (
    "photo",
    "voice",
    "video_note",
    "sticker",
    "document",
    "video",
    "audio",
    "animation",
    "contact",
    "poll",
    "dice",
)

_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}")
T = TypeVar("T")


# --- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    listen: str = "127.0.0.1"
    port: int = 8443
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    token: str
    base_url: str = DEFAULT_BASE_URL
    mode: str = "polling"
    webhook: WebhookSettings | None = None
    bot_username: str | None = None
    poll_timeout: int = 25
    concurrency: int = 16
    max_attempts: int = 3

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> TelegramSettings:
        """Validate the `telegram:` section and read the secrets it names from `env`."""
        env = os.environ if env is None else env
        try:
            section = TelegramSection.model_validate(dict(raw))
        except ValidationError as exc:
            raise config_error(exc, "telegram", TelegramSection, "telegram") from None
        token = env.get(section.token_env, "").strip()
        if not token:
            raise ConfigError(
                f"telegram : le jeton du bot est introuvable. Mettez-le dans la variable "
                f"d'environnement {section.token_env} (jeton donné par @BotFather), par exemple : "
                f"export {section.token_env}='123456:ABC…'. Il ne doit jamais être écrit dans un "
                f"fichier. / The bot token is missing: set {section.token_env}."
            )
        if not _TOKEN.fullmatch(token):
            raise ConfigError(
                f"telegram : la variable {section.token_env} ne contient pas un jeton de bot "
                "(forme attendue : 123456789:AA…, donné par @BotFather). "
                f"/ {section.token_env} does not hold a bot token."
            )
        webhook = None
        if section.mode == "webhook":
            assert section.webhook is not None  # the section checks it
            webhook = _webhook_settings(section.webhook, env)
        username = section.bot_username.removeprefix("@")
        return cls(
            token=token,
            base_url=section.base_url,
            mode=section.mode,
            webhook=webhook,
            bot_username=username or None,
            poll_timeout=section.poll_timeout,
            concurrency=section.concurrency,
            max_attempts=section.max_attempts,
        )


def _webhook_settings(section: WebhookSection, env: Mapping[str, str]) -> WebhookSettings:
    secret = None
    secret_env = section.secret_token_env
    if secret_env:
        secret = env.get(secret_env, "").strip()
        if not secret:
            raise ConfigError(
                f"telegram.webhook : la variable d'environnement {secret_env} (jeton secret du "
                f"webhook) est vide ou absente. / {secret_env} is empty."
            )
        if not all(c.isalnum() or c in "_-" for c in secret) or len(secret) > 256:
            raise ConfigError(
                f"telegram.webhook : le jeton secret ({secret_env}) doit faire 1 à 256 caractères "
                f"parmi A-Z, a-z, 0-9, _ et -. / {secret_env}: 1-256 of A-Z a-z 0-9 _ -."
            )
    return WebhookSettings(
        listen=section.listen,
        port=section.port,
        url=section.url,
        secret_token=secret,
        max_connections=section.max_connections,
    )


def offset_cursor(bot_id: int) -> str:
    """The name of the stored `getUpdates` offset of one bot."""
    return f"telegram:{bot_id}:offset"


def progress_cursor(bot_id: int) -> str:
    """The name of the row that tracks multi-message turns being sent (update id -> parts)."""
    return f"telegram:{bot_id}:progress"


def event_id_for(bot_id: int | None, update_id: int) -> str:
    """`<bot id>:<update id>`: update ids are unique per bot only."""
    return str(update_id) if bot_id is None else f"{bot_id}:{update_id}"


def update_id_of(event_id: str) -> int:
    return int(event_id.rpartition(":")[2])


# --- incoming ----------------------------------------------------------------------------------


def _command(text: str) -> tuple[str, str] | None:
    """("aide", "rest") for "/aide@MonBot rest"; None when the text is not a command."""
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name:
        return None
    return name, rest.strip()


def to_incoming(
    update: Update, choice: str | None = None, bot_id: int | None = None
) -> Incoming | None:
    """The core's view of an update (valid, bounded text); None for updates not answered."""
    incoming = _to_incoming(update, choice, event_id_for(bot_id, update.update_id))
    return None if incoming is None else bounded(incoming)


def _to_incoming(update: Update, choice: str | None, event_id: str) -> Incoming | None:
    query = update.callback_query
    if query is not None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return Incoming(
            platform=PLATFORM,
            conversation=str(chat_id),
            event_id=event_id,
            choice=choice if choice is not None else (query.data or ""),
            language=query.from_user.language_code,
        )
    message = update.message
    if message is None or message.chat.type != "private":
        return None
    language = message.from_user.language_code if message.from_user else None
    base = Incoming(PLATFORM, str(message.chat.id), event_id, language=language)
    if message.location is not None:
        location = Location(message.location.latitude, message.location.longitude)
        return replace(base, location=location)
    if message.text is not None:
        command = _command(message.text)
        if command is not None:
            name, rest = command
            if name == "start":
                return replace(base, start=rest)
            name = COMMAND_ALIASES.get(name, name)
            return replace(base, text=f"/{name} {rest}".strip())
        return replace(base, text=message.text)
    for kind in UNSUPPORTED_KINDS:
        if getattr(message, kind, None):
            return replace(base, unsupported=kind)
    return replace(base, unsupported="other")


def _kind(update: Update) -> str:
    if update.callback_query is not None:
        return "callback_query"
    message = update.message
    if message is None:
        return "other"
    if message.location is not None:
        return "location"
    if message.text is not None:
        return "command" if message.text.startswith("/") else "text"
    return next((k for k in UNSUPPORTED_KINDS if getattr(message, k, None)), "other")


def _chat_of(update: Update) -> int | None:
    if update.callback_query is not None:
        query = update.callback_query
        return query.message.chat.id if query.message is not None else query.from_user.id
    if update.message is not None:
        return update.message.chat.id
    return None


def _lane_of(update: Update) -> int | str:
    """Updates of one chat are answered in order; one without a chat is alone in its lane."""
    chat = _chat_of(update)
    return chat if chat is not None else f"u{update.update_id}"


# --- the adapter -------------------------------------------------------------------------------


class Stopped(Exception):
    """The stop event was set while waiting to retry: leave the update for re-delivery."""


class TelegramAdapter:
    name = PLATFORM
    capabilities = frozenset({BUTTONS, LOCATION, HTML})

    def __init__(
        self,
        context: AdapterContext,
        settings: TelegramSettings,
        bot: ExtBot[Any] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self._dispatcher: Dispatcher = context.dispatcher
        self._store: Store = context.store
        self._staff = context.staff
        self.settings = settings
        self.bot: ExtBot[Any] = bot or self._make_bot(settings)
        self._backoff = backoff or Backoff(base_s=0.5, cap_s=30.0)
        self._choices: dict[str, str] = {}  # callback digest -> choice id
        self._chat_locks = ConversationLocks()
        self._stop = asyncio.Event()
        self.bot_username: str | None = settings.bot_username
        self.bot_id: int | None = None  # from getMe at start-up
        self.webhook_port: int | None = None  # the port bound in webhook mode
        self.handled = 0  # updates answered since start (for tests and benchmarks)
        self._progress: dict[str, int] = {}  # update id -> parts of its turn already sent
        self._progress_lock = asyncio.Lock()
        self._lanes: Lanes[Update] | None = None  # while polling

    @property
    def waiting(self) -> int:
        """Updates taken from Telegram and not answered yet (0 in webhook mode)."""
        return self._lanes.waiting if self._lanes is not None else 0

    @staticmethod
    def _make_bot(settings: TelegramSettings) -> ExtBot[Any]:
        pool = settings.concurrency + 4
        return ExtBot(
            settings.token,
            base_url=settings.base_url,
            request=HTTPXRequest(connection_pool_size=pool, read_timeout=10.0),
            get_updates_request=HTTPXRequest(connection_pool_size=2),
            rate_limiter=AIORateLimiter(max_retries=3),
        )

    # --- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        # httpx logs every request URL at INFO, and Bot API URLs contain the token.
        httpx_log = logging.getLogger("httpx")
        httpx_log.setLevel(max(httpx_log.getEffectiveLevel(), logging.WARNING))
        try:
            await self._retry_network(self.bot.initialize, "getMe", attempts=STARTUP_ATTEMPTS)
        except Stopped:
            return
        except InvalidToken as exc:
            raise ConfigError(
                "telegram : le jeton du bot est refusé, ou base_url n'est pas un serveur Bot API "
                f"({self._host}). Vérifiez la variable d'environnement du jeton (donné par "
                "@BotFather) et telegram.base_url. / The token was refused, or base_url is not "
                "a Bot API server."
            ) from exc
        except (TimedOut, NetworkError) as exc:
            raise ConfigError(
                f"telegram : le serveur Bot API {self._host} ne répond pas après "
                f"{STARTUP_ATTEMPTS} essais ({type(exc).__name__}). Vérifiez telegram.base_url "
                "et l'accès au réseau. / The Bot API server does not answer: check base_url."
            ) from exc
        try:
            self.bot_id = self.bot.id
            await self._load_progress()
            if self.bot_username is None:
                self.bot_username = self.bot.username
            await self._set_commands()
            drainer = None
            if self._staff is not None:
                staff = self._staff
                drainer = asyncio.ensure_future(
                    drain(staff.outbox, PLATFORM, self._send_outbox, stop, staff.poll_s)
                )
            try:
                if self.settings.mode == "webhook":
                    await self._run_webhook()
                else:
                    await self._retry_network(
                        lambda: self.bot.delete_webhook(drop_pending_updates=False),
                        "deleteWebhook",
                    )
                    await self._poll()
            finally:
                if drainer is not None:
                    drainer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await drainer
        except Stopped:
            pass
        finally:
            with contextlib.suppress(Exception):
                await self.bot.shutdown()

    async def _set_commands(self) -> None:
        fr = [BotCommand(c, d) for c, d in COMMANDS_FR]
        en = [BotCommand(c, d) for c, d in COMMANDS_EN]
        await self._retry_network(lambda: self.bot.set_my_commands(fr), "setMyCommands")
        await self._retry_network(
            lambda: self.bot.set_my_commands(en, language_code="en"), "setMyCommands"
        )

    async def _sleep(self, seconds: float) -> None:
        """Sleep, unless the stop event is set first (then raise Stopped)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        if self._stop.is_set():
            raise Stopped

    @property
    def _host(self) -> str:
        return urlsplit(self.settings.base_url).netloc

    async def _retry_network(
        self, call: Callable[[], Awaitable[T]], what: str, attempts: int | None = None
    ) -> T:
        """Call until it succeeds: RetryAfter is honoured, network errors back off with jitter.

        With `attempts`, the network error of the last attempt is raised instead."""
        attempt = 0
        while True:
            if self._stop.is_set():
                raise Stopped
            try:
                return await call()
            except RetryAfter as exc:
                await self._sleep(_retry_after(exc) + 0.1)
            except (BadRequest, Forbidden, InvalidToken, ChatMigrated):
                raise
            except (TimedOut, NetworkError, Conflict) as exc:
                attempt += 1
                if attempts is not None and attempt >= attempts and not isinstance(exc, Conflict):
                    raise
                delay = self._backoff.delay(attempt - 1)
                log.warning("%s failed (%s), retrying in %.1fs", what, type(exc).__name__, delay)
                await self._sleep(delay)

    # --- long polling ------------------------------------------------------------------------

    @property
    def _bot(self) -> int:
        assert self.bot_id is not None, "getMe was not called"
        return self.bot_id

    async def _poll(self) -> None:
        """Fetch, keep, confirm, hand to the chats' lanes; fetch again at once.

        Each batch is kept (sealed, `Store.receive`) with the next offset in one transaction
        before the next `getUpdates` confirms it to Telegram; each update is forgotten once
        answered. So a slow chat never holds back the others, and a crash loses nothing: the
        updates kept and not answered are handled first at the next start."""
        offset = await self._stored_offset()
        lanes: Lanes[Update] = Lanes(self.process, self._answered, self.settings.concurrency)
        self._lanes = lanes
        for update in await self._kept_updates():
            lanes.push(_lane_of(update), update)
        try:
            while not self._stop.is_set():
                await lanes.room()
                updates = await self._fetch(offset)
                if updates is None:
                    return
                if not updates:
                    continue
                updates.sort(key=lambda u: u.update_id)
                offset = updates[-1].update_id + 1
                name = offset_cursor(self._bot)
                new = set(
                    await self._store.receive(
                        self._queue,
                        [(self._event_id(u), u.to_json()) for u in updates],
                        [(name, str(offset)), (name + ":at", f"{time.time():.0f}")],
                    )
                )
                for update in updates:
                    if self._event_id(update) in new:
                        lanes.push(_lane_of(update), update)
        finally:
            await lanes.join()

    @property
    def _queue(self) -> str:
        """The name of this bot's kept updates in the store."""
        return f"telegram:{self._bot}"

    async def _kept_updates(self) -> list[Update]:
        """Updates kept by an earlier run and not answered (a crash, a stop mid-turn)."""
        kept = []
        for event_id, body in await self._store.received(self._queue):
            try:
                kept.append(Update.de_json(json.loads(body), self.bot))
            except Exception as exc:  # unreadable: dropped, like any broken update
                log.warning("kept update %s unreadable (%s): dropped", event_id,
                            type(exc).__name__)  # fmt: skip
                await self._store.answered(self._queue, event_id)
        if kept:
            log.info("%d update(s) kept by the last run: answering them first", len(kept))
        return kept

    async def _answered(self, update: Update) -> None:
        # in the transaction of the next database job (no round trip of its own)
        self._store.answered_soon(self._queue, self._event_id(update))

    def _event_id(self, update: Update) -> str:
        return event_id_for(self._bot, update.update_id)

    async def _stored_offset(self) -> int | None:
        """This bot's stored offset, if recent enough to trust (else the earliest unconfirmed
        updates are asked for; those already answered are recognised by the inbox)."""
        name = offset_cursor(self._bot)
        stored = await self._store.get_cursor(name)
        if not stored:
            return None
        updated = await self._cursor_age(name)
        if updated is not None and updated > OFFSET_TRUSTED_S:
            log.info("stored offset older than %d days: not used", OFFSET_TRUSTED_S // 86400)
            return None
        return int(stored) if stored.isdigit() else None

    async def _cursor_age(self, name: str) -> float | None:
        """Seconds since the cursor was written (None if the store cannot say)."""
        stamp = await self._store.get_cursor(name + ":at")
        return time.time() - float(stamp) if stamp and stamp.isdigit() else None

    async def _fetch(self, offset: int | None) -> list[Update] | None:
        """One getUpdates call, interrupted by the stop event (then None)."""

        async def call() -> tuple[Update, ...]:
            return await self.bot.get_updates(
                offset=offset,
                timeout=self.settings.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
            )

        fetch = asyncio.create_task(self._retry_network(call, "getUpdates"))
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Stopped):
                await fetch
            return None
        try:
            return list(fetch.result())
        except Stopped:
            return None

    # --- one update --------------------------------------------------------------------------

    async def process(self, update: Update) -> bool:
        """Handle one update completely. False only when stopped before it was done."""
        if self._staff is not None:
            try:
                if await self._staff_update(update):
                    self.handled += 1
                    return True
            except Stopped:
                return False
            except Exception as exc:  # like any update: logged, never loops
                log.error("update %s (staff) abandoned: %s", update.update_id,
                          type(exc).__name__)  # fmt: skip
                self.handled += 1
                return True
        kind = _kind(update)
        chat = _chat_of(update)
        if chat is None or to_incoming(update, bot_id=self.bot_id) is None:
            log.info("update %s (%s) ignored", update.update_id, kind)
            return True
        async with self._chat_locks.hold(str(chat)):
            try:
                await self._process(update, chat, kind)
            except Stopped:
                return False
            except Exception as exc:  # a bug here must not stop the loop nor loop forever
                log.error("update %s (%s) abandoned: %s", update.update_id, kind,
                          type(exc).__name__)  # fmt: skip
                await self._apologise(chat, update.update_id, None)
        self.handled += 1
        return True

    async def _process(self, update: Update, chat: int, kind: str) -> None:
        choice = None
        if update.callback_query is not None:
            try:
                await self._acknowledge(update.callback_query)
            except TelegramError as exc:  # best effort: the choice itself still counts
                log.warning("update %s: callback not acknowledged (%s)", update.update_id,
                            type(exc).__name__)  # fmt: skip
            choice = await self._resolve_choice(update.callback_query.data or "")
        incoming = to_incoming(update, choice, self.bot_id)
        assert incoming is not None
        failures = 0
        network_attempt = 0
        while True:
            if self._stop.is_set():
                raise Stopped
            try:
                turn = await self._dispatcher.handle(incoming)
                await self._send_turn(chat, update.update_id, turn)
                await self._dispatcher.confirm_sent(incoming)
                return
            except RetryAfter as exc:
                log.warning("update %s: flood control, waiting", update.update_id)
                await self._sleep(_retry_after(exc) + 0.1)
            except Forbidden:
                log.warning("update %s (%s): the person blocked the bot", update.update_id, kind)
                await self._dispatcher.confirm_sent(incoming)
                return
            except BadRequest as exc:
                failures = await self._failed(update, kind, incoming, chat, failures, exc)
                if failures < 0:
                    return
            except (TimedOut, NetworkError) as exc:
                delay = self._backoff.delay(network_attempt)
                network_attempt += 1
                log.warning(
                    "update %s: %s, retrying in %.1fs", update.update_id, type(exc).__name__, delay
                )
                await self._sleep(delay)
            except Stopped:
                raise
            except Exception as exc:
                failures = await self._failed(update, kind, incoming, chat, failures, exc)
                if failures < 0:
                    return

    async def _failed(
        self,
        update: Update,
        kind: str,
        incoming: Incoming,
        chat: int,
        failures: int,
        exc: Exception,
    ) -> int:
        """Count one failure; after `max_attempts`, apologise and return -1 (move on)."""
        failures += 1
        log.error(
            "update %s (%s) failed (attempt %d/%d): %s",
            update.update_id,
            kind,
            failures,
            self.settings.max_attempts,
            type(exc).__name__,
        )
        if failures < self.settings.max_attempts:
            await self._sleep(self._backoff.delay(failures - 1))
            return failures
        await self._apologise(chat, update.update_id, incoming)
        with contextlib.suppress(Exception):
            await self._dispatcher.confirm_sent(incoming)
        return -1

    async def _apologise(self, chat: int, update_id: int, incoming: Incoming | None) -> None:
        if self.bot_id is not None:
            with contextlib.suppress(Exception):
                await self._set_progress(str(update_id), None)
        reply = self._failure_reply(incoming)
        try:
            await self.bot.send_message(chat, reply.text)
        except TelegramError as exc:
            log.error("update %s: apology not sent either (%s)", update_id, type(exc).__name__)

    def _failure_reply(self, incoming: Incoming | None) -> Reply:
        """The core's failure reply if the dispatcher offers one (`failure_reply(incoming)`),
        else a short apology of our own."""
        factory = getattr(self._dispatcher, "failure_reply", None)
        if callable(factory) and incoming is not None:
            with contextlib.suppress(Exception):
                reply = factory(incoming)
                if isinstance(reply, Reply):
                    return reply
        return Reply(APOLOGY)

    async def _acknowledge(self, query: CallbackQuery, toast: str | None = None) -> None:
        """Stop the button's spinner (with a short `toast` if given) and remove the keyboard so
        it cannot be pressed twice."""
        # BadRequest: too old (e.g. re-delivered after a restart), nothing to answer any more.
        with contextlib.suppress(BadRequest):
            text = toast[:200] if toast else None
            await self._retry_network(lambda: query.answer(text), "answerCallbackQuery")
        message = query.message
        if isinstance(message, Message) and message.reply_markup is not None:
            # BadRequest: already removed, or too old to edit.
            with contextlib.suppress(BadRequest):
                await self._retry_network(
                    lambda: self.bot.edit_message_reply_markup(
                        chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
                    ),
                    "editMessageReplyMarkup",
                )

    async def _resolve_choice(self, data: str) -> str:
        if data in self._choices:
            return self._choices[data]
        if needs_mapping(data) or data.startswith("~"):
            stored = await self._store.get_cursor(CHOICE_CURSOR + data)
            if stored is not None:
                self._choices[data] = stored
                return stored
        return data

    async def _remember_choices(self, turn: Turn) -> None:
        for reply in turn.replies:
            for choice in reply.choices:
                if needs_mapping(choice.id):
                    data = callback_data(choice.id)
                    if self._choices.get(data) != choice.id:
                        await self._store.set_cursor(CHOICE_CURSOR + data, choice.id)
                        self._choices[data] = choice.id

    async def _send_turn(self, chat: int, update_id: int, turn: Turn) -> None:
        """Send every message of the turn, and remember how many were sent so that a retry or a
        restart after an error in the middle does not send the first ones twice."""
        if not turn.replies:
            return
        await self._remember_choices(turn)
        messages = render_replies(turn.replies)
        key = str(update_id)
        skip = self._progress.get(key, 0)
        for index, message in enumerate(messages):
            if index < skip:
                continue
            await self._send(chat, message)
            if len(messages) > 1:
                await self._set_progress(key, index + 1 if index < len(messages) - 1 else None)

    async def _load_progress(self) -> None:
        stored = await self._store.get_cursor(progress_cursor(self._bot))
        try:
            data = json.loads(stored) if stored else {}
        except ValueError:
            data = {}
        self._progress = {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}

    async def _set_progress(self, update_id: str, parts: int | None) -> None:
        """Record `parts` sent for this update (None: its turn is complete, forget it)."""
        async with self._progress_lock:
            if parts is None:
                if self._progress.pop(update_id, None) is None:
                    return
            else:
                self._progress[update_id] = parts
            # Only turns being sent are kept: the row stays a few bytes, and holds no person.
            await self._store.set_cursor(
                progress_cursor(self._bot), json.dumps(self._progress, sort_keys=True)
            )

    async def _send(self, chat: int, message: OutMessage) -> None:
        """HTML first; if Telegram cannot parse it, the plain text (then without keyboard).
        A venue that Telegram refuses is left out: the text after it has the address."""
        if message.venue is not None:
            venue = message.venue
            try:
                await self.bot.send_venue(
                    chat, venue.latitude, venue.longitude, venue.title, venue.address
                )
            except BadRequest as exc:
                if "chat not found" in exc.message.lower():
                    raise
                log.warning("venue refused (%s); the text has the address", exc.message)
            return
        try:
            await self.bot.send_message(
                chat,
                message.html,
                parse_mode=ParseMode.HTML,
                reply_markup=message.markup,
                link_preview_options=NO_PREVIEW,
            )
            return
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise
            log.warning("HTML message refused (%s); sending plain text", exc.message)
        try:
            await self.bot.send_message(chat, message.plain[:MAX_TEXT], reply_markup=message.markup)
        except BadRequest:
            if message.markup is None:
                raise
            await self.bot.send_message(chat, message.plain[:MAX_TEXT])

    # --- staff: counsellors' groups, admins, the outbox ----------------------------------------

    async def _staff_update(self, update: Update) -> bool:
        """A press in a counsellors' group or an admin command: handled here (True)."""
        assert self._staff is not None
        query = update.callback_query
        if query is not None:
            chat = query.message.chat.id if query.message is not None else None
            in_staff_chat = chat is not None and str(chat) in self._staff.staff_chats(PLATFORM)
            if (query.data or "").startswith("staff:") or in_staff_chat:
                await self._staff_press(query, in_staff_chat)
                return True
            return False
        message = update.message
        if message is None or message.text is None or message.from_user is None:
            return False
        if message.chat.type != "private":
            if str(message.chat.id) not in self._staff.staff_chats(PLATFORM):
                return False
            if message.reply_to_message is not None:
                await self._staff_reply(message, message.reply_to_message.message_id)
            return True  # a counsellors' group is no conversation
        command = admin_command(message.text)
        if command is None or not self._staff.admins.is_admin(PLATFORM, str(message.from_user.id)):
            return False
        log.info("update %s: admin command %s", update.update_id, command)
        answer = await self._staff.admins.answer(command)
        chat_id = message.chat.id
        for part in split_text(answer):

            async def send(text: str = part) -> Message:
                return await self.bot.send_message(chat_id, text)

            await self._retry_network(send, "sendMessage")
        return True

    async def _staff_press(self, query: CallbackQuery, in_staff_chat: bool) -> None:
        """ "Je prends" or an outcome button, pressed in a counsellors' group."""
        assert self._staff is not None
        action, _, number = (query.data or "").removeprefix("staff:").partition(":")
        if not in_staff_chat or not number.isdigit():
            await self._toast(query, "Ce bouton n'est pas valable ici. / Not valid here.")
            return
        callback_id = int(number)
        user = query.from_user
        name = " ".join(p for p in (user.first_name, (user.last_name or "")[:1]) if p)
        desk = self._staff.desk
        event = (PLATFORM, f"press:{query.id}")  # a press delivered again is not obeyed twice
        if action == "prendre":
            taken = await desk.take(callback_id, name, via=PLATFORM, event=event)
            toast = {
                "pris": "C'est à vous : la personne est prévenue. / It is yours.",
                "deja": f"Déjà prise par {taken.by}. / Already taken.",
                "inconnu": "Cette demande n'existe plus. / This request is gone.",
                "repete": None,
            }[taken.status]
        else:
            result = await desk.record_outcome(callback_id, action, name, event=event)
            toast = {
                "ok": "Résultat noté, merci. / Outcome recorded.",
                "inconnu": "Cette demande n'existe plus. / This request is gone.",
                "resultat_inconnu": "Bouton inconnu. / Unknown button.",
                "repete": None,
            }[result]
        await self._acknowledge(query, toast)  # a press delivered again: no toast

    async def _staff_reply(self, message: Message, replied_to: int) -> None:
        """A counsellor's reply to a request in the group: « je prends », « jointe »,
        « écrire : … » (a message to the person)…"""
        assert self._staff is not None and message.from_user is not None
        chat = message.chat.id
        callback_id = await self._staff.outbox.callback_of(PLATFORM, f"{chat}:{replied_to}")
        action, note = staff_action(message.text or "")
        if callback_id is None or action is None:
            return
        user = message.from_user
        name = " ".join(p for p in (user.first_name, (user.last_name or "")[:1]) if p)
        event = (PLATFORM, f"message:{chat}:{message.message_id}")  # not obeyed twice
        answer = await self._staff.desk.act_on_reply(
            callback_id, action, note, name, PLATFORM, event
        )
        if answer:
            await self._retry_network(lambda: self.bot.send_message(chat, answer), "sendMessage")

    async def _toast(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(BadRequest):  # too old to answer: nothing to do
            await self._retry_network(lambda: query.answer(text[:200]), "answerCallbackQuery")

    async def _send_outbox(self, message: StaffMessage) -> str:
        """One outbox message: to a counsellors' group (with its buttons), a person or an
        admin (their private chat). Raises Undeliverable or TryLater."""
        try:
            chat = int(message.target)
        except ValueError:
            raise Undeliverable("identifiant de discussion Telegram invalide") from None
        markup = None
        if message.actions:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(a.label, callback_data=a.id)] for a in message.actions]
            )
        parts = split_text(message.text) or ["…"]
        sent_id = ""
        try:
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent = await self.bot.send_message(
                    chat, part, reply_markup=markup if last else None,
                    link_preview_options=NO_PREVIEW,
                )  # fmt: skip
                sent_id = f"{chat}:{sent.message_id}"  # message ids are per chat
        except Forbidden as exc:
            raise Undeliverable("le bot est bloqué ou n'est plus dans le groupe") from exc
        except ChatMigrated as exc:
            log.warning("telegram: a counsellors' group became a supergroup; its new id is %s "
                        "(change it in the configuration)", exc.new_chat_id)  # fmt: skip
            raise Undeliverable("groupe devenu supergroupe : changez son id") from exc
        except BadRequest as exc:
            raise Undeliverable(f"refusé par Telegram ({exc.message[:80]})") from exc
        except RetryAfter as exc:
            raise TryLater(f"limite de débit ({_retry_after(exc):.0f} s)") from exc
        except (TimedOut, NetworkError) as exc:
            raise TryLater(type(exc).__name__) from exc
        return sent_id

    # --- webhook -----------------------------------------------------------------------------

    async def _run_webhook(self) -> None:
        hook = self.settings.webhook
        assert hook is not None
        app = web.Application()
        app.router.add_post(hook.path, self._on_webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, hook.listen, hook.port)
        await site.start()
        self.webhook_port = _bound_port(site) or hook.port
        try:
            await self._retry_network(
                lambda: self.bot.set_webhook(
                    hook.url,
                    secret_token=hook.secret_token,
                    allowed_updates=ALLOWED_UPDATES,
                    max_connections=hook.max_connections,
                    drop_pending_updates=False,
                ),
                "setWebhook",
            )
            await self._stop.wait()
        finally:
            await runner.cleanup()

    async def _on_webhook(self, request: web.Request) -> web.Response:
        secret = self.settings.webhook.secret_token if self.settings.webhook else None
        if secret is not None:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                log.warning("webhook call with a wrong secret token refused")
                return web.Response(status=403)
        try:
            data = await request.json()
            update = Update.de_json(data, self.bot)
        except Exception:
            log.warning("webhook call with an unreadable body refused")
            return web.Response(status=400)
        if update is None:
            return web.Response(status=400)
        if not await self.process(update):
            return web.Response(status=503)  # stopping: Telegram will deliver it again
        return web.Response(status=200)


def _bound_port(site: web.TCPSite) -> int | None:
    server = site._server
    sockets = getattr(server, "sockets", None)
    if not sockets:
        return None
    return int(sockets[0].getsockname()[1])


def _retry_after(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 warns about the attribute's type)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)


def check_settings(raw: Mapping[str, Any], data_dir: str) -> None:
    """The `telegram:` settings and the token are valid (else ConfigError, in French)."""
    TelegramSettings.parse(raw)


def create(context: AdapterContext) -> TelegramAdapter:
    """Build the adapter from the `telegram:` settings; raises ConfigError (in French)."""
    settings = TelegramSettings.parse(context.settings)
    return TelegramAdapter(context, settings)
