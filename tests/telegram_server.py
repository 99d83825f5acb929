"""A local Bot API server for tests: speaks the methods the adapter uses and rejects what
Telegram rejects, with Telegram-shaped errors.

Bound to 127.0.0.1 on a free port; `async with FakeTelegram() as tg:` starts and stops it, and it
stops by itself after `max_lifetime` seconds in any case. Tests inject updates (`send_text`,
`send_start`, `press`, `send_location`, `send_media`) which `getUpdates` serves with Telegram's
offset semantics, and read what the bot sent per chat (`sent`, `replies`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import itertools
import json
import re
import sqlite3
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
BOT_ID = 123456
BOT_USERNAME = "AiguillageTestBot"

# Telegram's HTML parse mode: the only tags it accepts.
HTML_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
BUTTON_KINDS = {
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
}
REPLY_BUTTON_KINDS = {
    "request_contact",
    "request_location",
    "request_poll",
    "request_users",
    "request_chat",
    "web_app",
}
COMMAND = re.compile(r"[a-z0-9_]{1,32}")
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
SEND_METHODS = {
    "sendMessage",
    "sendLocation",
    "sendVenue",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
}
MEDIA: dict[str, Callable[[], Any]] = {
    "photo": lambda: [{"file_id": "p1", "file_unique_id": "up1", "width": 90, "height": 90}],
    "voice": lambda: {"file_id": "v1", "file_unique_id": "uv1", "duration": 3},
    "sticker": lambda: {
        "file_id": "s1",
        "file_unique_id": "us1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    },
    "document": lambda: {"file_id": "d1", "file_unique_id": "ud1", "file_name": "cv.pdf"},
    "video": lambda: {
        "file_id": "vd1",
        "file_unique_id": "uvd1",
        "width": 1,
        "height": 1,
        "duration": 1,
    },
    "audio": lambda: {"file_id": "a1", "file_unique_id": "ua1", "duration": 1},
}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- parse modes -------------------------------------------------------------------------------

_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:=(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);")


def parse_html(text: str) -> str:
    """The visible text of a Telegram HTML message; raises ApiError where Telegram would."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        offset = len(text[:i].encode())
        if ch == "<":
            m = _TAG.match(text, i)
            if m is None:
                raise bad(
                    f"can't parse entities: Unexpected end of name token at byte offset {offset}"
                )
            closing, name, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
            if name not in HTML_TAGS:
                kind = "end" if closing else "start"
                raise bad(
                    f'can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset {offset}'  # noqa: E501
                )
            if closing:
                if not stack:
                    raise bad(f"can't parse entities: Unexpected end tag at byte offset {offset}")
                if stack[-1] != name:
                    raise bad(
                        "can't parse entities: Unmatched end tag at byte offset "
                        f'{offset}, expected "</{stack[-1]}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                found = {
                    a.group(1).lower(): next((g for g in a.groups()[1:] if g is not None), "")
                    for a in _ATTR.finditer(attrs)
                }
                if name == "a":
                    if "a" in stack:
                        raise bad("can't parse entities: nested links are not allowed")
                    href = html.unescape(found.get("href", ""))
                    if not re.match(r"(https?|tg)://\S+$", href):
                        raise bad(f'can\'t parse entities: invalid URL "{href}" in a link')
                if name == "span" and found.get("class") != "tg-spoiler":
                    raise bad('can\'t parse entities: Tag "span" must have class "tg-spoiler"')
                stack.append(name)
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if m is None:
                raise bad(
                    "can't parse entities: Character '&' is reserved and must be escaped as "
                    f"&amp; (byte offset {offset})"
                )
            name = m.group(1)
            if name.startswith("#x"):
                out.append(chr(int(name[2:], 16)))
            elif name.startswith("#"):
                out.append(chr(int(name[1:])))
            elif name in NAMED_ENTITIES:
                out.append(NAMED_ENTITIES[name])
            else:
                raise bad(
                    f'can\'t parse entities: Unsupported HTML entity "&{name};" at byte offset {offset}'  # noqa: E501
                )
            i = m.end()
        elif ch == ">":
            raise bad(
                f"can't parse entities: Character '>' must be escaped as &gt; (byte offset {offset})"  # noqa: E501
            )
        else:
            out.append(ch)
            i += 1
    if stack:
        raise bad(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(out)


def parse_markdown_v2(text: str) -> str:
    """Light MarkdownV2 check: characters that are never markup must be escaped."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch in ">#+-=|{}.!":
            raise bad(
                f"can't parse entities: Character '{ch}' is reserved and must be escaped with the preceding '\\'"  # noqa: E501
            )
        if ch not in "_*[]()~`":
            out.append(ch)
        i += 1
    return "".join(out)


def visible_text(text: str, parse_mode: str | None) -> str:
    if parse_mode is None or parse_mode == "":
        return text
    if parse_mode.upper() == "HTML":
        return parse_html(text)
    if parse_mode == "MarkdownV2":
        return parse_markdown_v2(text)
    if parse_mode == "Markdown":
        return re.sub(r"[*_`\[]", "", text)
    raise bad(f'unsupported parse_mode "{parse_mode}"')


# --- keyboards ---------------------------------------------------------------------------------


def check_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        count = 0
        for row in rows:
            if len(row) > 8:
                raise bad("BUTTONS_TOO_MUCH")
            for button in row:
                count += 1
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise bad('can\'t find field "text"')
                kinds = BUTTON_KINDS & button.keys()
                if len(kinds) != 1:
                    raise bad(
                        "can't parse inline keyboard button: exactly one of the optional fields must be used"  # noqa: E501
                    )
                if "callback_data" in kinds:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                        raise bad("BUTTON_DATA_INVALID")
                if "url" in kinds and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
                    raise bad(f"inline keyboard button URL '{button['url']}' is invalid")
        if count > 100:
            raise bad("REPLY_MARKUP_TOO_LONG")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if (
            not isinstance(rows, list)
            or not rows
            or not all(isinstance(r, list) and r for r in rows)
        ):
            raise bad("keyboard must be a non-empty Array of non-empty Arrays")
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    continue
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise bad('can\'t find field "text"')
                if len(REPLY_BUTTON_KINDS & button.keys()) > 1:
                    raise bad("keyboard button must use at most one of the optional fields")
        for flag in ("one_time_keyboard", "resize_keyboard", "is_persistent", "selective"):
            if flag in markup and not isinstance(markup[flag], bool):
                raise bad(f'field "{flag}" must be of type Boolean')
    elif "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise bad('field "remove_keyboard" must be true')
    elif "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad('field "force_reply" must be true')
    else:
        raise bad("can't parse reply keyboard markup JSON object")


# --- the server --------------------------------------------------------------------------------


@dataclass
class Sent:
    """A message the bot sent (or a location/venue), as the server accepted it."""

    chat_id: int
    message_id: int
    method: str
    text: str  # the visible text after entity parsing
    raw: str  # what the bot sent
    parse_mode: str | None
    markup: dict[str, Any] | None
    at: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, in order."""
        if not self.markup or "inline_keyboard" not in self.markup:
            return []
        return [
            (b["text"], b.get("callback_data", ""))
            for row in self.markup["inline_keyboard"]
            for b in row
        ]


class FakeTelegram:
    """The local Bot API server. Use `base_url` as the adapter's base_url."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        max_lifetime: float = 300.0,
        per_chat_burst: int = 5,
        strict_rate: bool = False,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])  # as in real tokens
        self.max_lifetime = max_lifetime
        self.per_chat_burst = per_chat_burst  # messages tolerated at once, then ~1/s
        self.strict_rate = strict_rate  # answer 429 when a chat exceeds the rate
        self.port = 0
        self.updates: list[dict[str, Any]] = []
        self._every_update: dict[int, dict[str, Any]] = {}  # confirmed ones too
        self.confirmed = 0  # every update_id < confirmed was confirmed by an offset
        self.sent: dict[int, list[Sent]] = defaultdict(list)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[tuple[str, int, str]] = []
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.callback_queries: dict[str, bool] = {}  # id -> answered
        self.callback_answers: dict[str, str] = {}  # id -> the text shown (a toast)
        self.groups: dict[int, str] = {}  # group chat id (negative) -> title
        self.flood_until = 0.0
        self.flood_retry_after = 1
        self.flood_answers = 0
        self.hold_sends = False  # hold sendMessage requests (never accepted) while set
        # (accepted sendMessage count, error): once that many messages were accepted, the next
        # sendMessage gets the error instead (once per entry)
        self.send_failures: list[tuple[int, ApiError]] = []
        self.accepted_messages = 0
        self.held = 0
        self.rate_violations: dict[int, int] = defaultdict(int)
        self._buckets: dict[int, tuple[float, float]] = {}
        self._read: dict[int, int] = defaultdict(int)
        self._ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._new = asyncio.Condition()
        self._poll_generation = 0
        self._runner: web.AppRunner | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.started = time.monotonic()

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._route)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        assert sockets, "the server did not bind"
        self.port = int(sockets[0].getsockname()[1])
        self._watchdog = asyncio.create_task(self._stop_later())
        return self

    async def stop(self) -> None:
        async with self._new:  # end pending long polls now rather than at their timeout
            self._poll_generation += 1
            self._new.notify_all()
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _stop_later(self) -> None:
        await asyncio.sleep(self.max_lifetime)
        await self.stop()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- injecting updates -------------------------------------------------------------------

    def _user(self, chat: int, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": chat, "is_bot": False, "first_name": f"Personne {chat}"}
        if language:
            user["language_code"] = language
        return user

    async def _push(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._ids)
        async with self._new:
            self.updates.append({"update_id": update_id, kind: payload})
            self._every_update[update_id] = {kind: payload}
            self._new.notify_all()
        return update_id

    def _message(self, chat: int, language: str | None, **fields: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids[chat]),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": f"Personne {chat}"},
            "from": self._user(chat, language),
            **fields,
        }

    async def send_text(self, chat: int, text: str, language: str | None = "fr") -> int:
        fields: dict[str, Any] = {"text": text}
        m = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if m:
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))}
            ]
        return await self._push("message", self._message(chat, language, **fields))

    async def send_start(self, chat: int, payload: str = "", language: str | None = "fr") -> int:
        """What a Telegram client sends when someone opens t.me/<bot>?start=<payload>."""
        if payload and not PAYLOAD.fullmatch(payload):
            raise ValueError(f"Telegram clients never send such a start payload: {payload!r}")
        return await self.send_text(chat, f"/start {payload}".strip(), language)

    async def send_location(self, chat: int, lat: float, lon: float) -> int:
        location = {"latitude": lat, "longitude": lon}
        return await self._push("message", self._message(chat, "fr", location=location))

    async def send_media(self, chat: int, kind: str) -> int:
        return await self._push("message", self._message(chat, "fr", **{kind: MEDIA[kind]()}))

    async def press(
        self, chat: int, label_or_data: str, message: Sent | None = None, by: int | None = None
    ) -> int:
        """Press a button of the bot's last message with a keyboard (or of `message`); in a
        group, `by` is the member who presses it."""
        if message is None:
            with_keyboard = [s for s in self.sent[chat] if s.buttons]
            if not with_keyboard:
                raise AssertionError(f"no message with buttons in chat {chat}")
            message = with_keyboard[-1]
        data = next((d for label, d in message.buttons if label_or_data in (label, d)), None)
        if data is None:
            raise AssertionError(
                f"no button {label_or_data!r} on message {message.message_id}: {message.buttons}"
            )
        query_id = f"q{next(self._ids)}"
        self.callback_queries[query_id] = False
        query = {
            "id": query_id,
            "from": self._user(by if by is not None else chat, "fr"),
            "message": self._message_json(message),
            "chat_instance": f"ci{chat}",
            "data": data,
        }
        return await self._push("callback_query", query)

    def add_group(self, chat: int, title: str = "Conseillers") -> None:
        """A group the bot is a member of (ids of groups are negative)."""
        if chat >= 0:
            raise ValueError("Telegram group ids are negative")
        self.groups[chat] = title

    async def send_group_text(
        self, group: int, by: int, text: str, reply_to: Sent | None = None
    ) -> int:
        """A member of a group writes in it, maybe as a reply to one of the bot's messages."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids[group]),
            "date": int(time.time()),
            "chat": {"id": group, "type": "group", "title": self.groups[group]},
            "from": self._user(by, "fr"),
            "text": text,
        }
        if reply_to is not None:
            message["reply_to_message"] = self._message_json(reply_to)
        return await self._push("message", message)

    def inject_raw(self, update: dict[str, Any]) -> None:
        self.updates.append(update)

    async def deliver_again(self, update_id: int) -> int:
        """The update delivered once more, as Telegram does when a bot stopped before it
        confirmed it (here under a new update_id, so that a running bot gets it too)."""
        [(kind, payload)] = self._every_update[update_id].items()
        return await self._push(kind, copy.deepcopy(payload))

    # --- reading what the bot did ------------------------------------------------------------

    def pending(self) -> list[int]:
        return [u["update_id"] for u in self.updates if u["update_id"] >= self.confirmed]

    async def wait_confirmed(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the bot confirmed `update_id` (asked for a later offset)."""
        async with asyncio.timeout(timeout), self._new:
            await self._new.wait_for(lambda: self.confirmed > update_id)

    async def wait_answered(self, update_id: int, database: Path, timeout: float = 30.0) -> None:
        """Wait until a bot in another process confirmed `update_id` and answered every update
        it took: none is left in its database's `received` table."""
        await self.wait_confirmed(update_id, timeout)
        async with asyncio.timeout(timeout):
            while _kept_updates(database):
                await asyncio.sleep(0.05)

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._new:
            await self._new.wait_for(predicate)

    async def replies(self, chat: int, timeout: float = 10.0, quiet: float = 0.4) -> list[Sent]:
        """Messages sent to `chat` since the last call: once every injected update is confirmed
        (the bot keeps what it fetched before confirming, and answers after), at least one
        message arrived, and none for `quiet` seconds. For a bot in another process; in the
        same process, `telegram_harness.Harness.replies` knows exactly when it is done."""
        last = max((u["update_id"] for u in self.updates), default=0)
        await self.wait_confirmed(last, timeout)
        await self.wait_for(lambda: len(self.sent[chat]) > self._read[chat], timeout)
        while True:
            count = len(self.sent[chat])
            await asyncio.sleep(quiet)
            if len(self.sent[chat]) == count:
                return self.take(chat)

    def take(self, chat: int) -> list[Sent]:
        """Messages sent to `chat` since the last call, without waiting."""
        new = self.sent[chat][self._read[chat] :]
        self._read[chat] = len(self.sent[chat])
        return new

    def texts(self, chat: int) -> list[str]:
        return [s.text for s in self.sent[chat]]

    def flood(self, seconds: float, retry_after: int = 1) -> None:
        """Answer 429 to every send for `seconds`."""
        self.flood_until = time.monotonic() + seconds
        self.flood_retry_after = retry_after

    def rate_report(self) -> dict[int, int]:
        """Per chat: the most messages sent within any one second."""
        report: dict[int, int] = {}
        for chat, messages in self.sent.items():
            times = sorted(s.at for s in messages)
            window: deque[float] = deque()
            best = 0
            for t in times:
                window.append(t)
                while window and t - window[0] >= 1.0:
                    window.popleft()
                best = max(best, len(window))
            report[chat] = best
        return report

    # --- HTTP --------------------------------------------------------------------------------

    async def _route(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"), "?")
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(ApiError(404, "Not Found"), method)
        try:
            if method in SEND_METHODS and time.monotonic() < self.flood_until:
                self.flood_answers += 1
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {self.flood_retry_after}",
                    self.flood_retry_after,
                )
            result = await handler(params)
        except ApiError as exc:
            return self._error(exc, method)
        async with self._new:
            self._new.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _error(self, exc: ApiError, method: str) -> web.Response:
        self.errors.append((method, exc.code, exc.description))
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.retry_after is not None:
            body["parameters"] = {"retry_after": exc.retry_after}
        return web.json_response(body, status=exc.code)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return dict(data) if isinstance(data, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = value if isinstance(value, str) else ""
            try:
                params[key] = json.loads(text)
            except ValueError:
                params[key] = text
            if key in {
                "text",
                "secret_token",
                "callback_query_id",
                "language_code",
                "url",
                "title",
                "address",
                "parse_mode",
                "bot_username",
            }:
                params[key] = text  # strings, never JSON-decoded
        return params

    @staticmethod
    def _int(params: dict[str, Any], name: str, required: bool = True) -> int | None:
        if name not in params:
            if required:
                raise bad(f"{name} is empty")
            return None
        try:
            return int(params[name])
        except (TypeError, ValueError):
            raise bad(f'field "{name}" must be a valid Number') from None

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Aiguillage",
            "username": BOT_USERNAME,
        }

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(sent.at),
            "chat": (
                {"id": sent.chat_id, "type": "group", "title": self.groups[sent.chat_id]}
                if sent.chat_id in self.groups
                else {
                    "id": sent.chat_id,
                    "type": "private",
                    "first_name": f"Personne {sent.chat_id}",
                }
            ),
            "from": self._bot_user(),
        }
        if sent.method == "sendMessage":
            out["text"] = sent.text
        elif "latitude" in sent.params:
            out["location"] = {
                "latitude": sent.params["latitude"],
                "longitude": sent.params["longitude"],
            }
        if sent.markup and "inline_keyboard" in sent.markup:
            out["reply_markup"] = sent.markup
        return out

    def _chat(self, params: dict[str, Any]) -> int:
        chat = self._int(params, "chat_id")
        assert chat is not None
        if chat <= 0 and chat not in self.groups:
            raise bad("chat not found")
        return chat

    def _rate(self, chat: int) -> None:
        """Token bucket per chat: `per_chat_burst` at once, then one per second."""
        now = time.monotonic()
        tokens, last = self._buckets.get(chat, (float(self.per_chat_burst), now))
        tokens = min(float(self.per_chat_burst), tokens + (now - last))
        if tokens < 1.0:
            self.rate_violations[chat] += 1
            if self.strict_rate:
                self._buckets[chat] = (tokens, now)
                raise ApiError(429, "Too Many Requests: retry after 1", 1)
        self._buckets[chat] = (max(0.0, tokens - 1.0), now)

    async def _record(self, sent: Sent) -> Sent:
        async with self._new:
            self.sent[sent.chat_id].append(sent)
            self._new.notify_all()
        return sent

    # --- methods -----------------------------------------------------------------------------

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = self._int(params, "offset", required=False) or 0
        limit = self._int(params, "limit", required=False) or 100
        timeout = self._int(params, "timeout", required=False) or 0
        if not 1 <= limit <= 100:
            raise bad("limit must be between 1 and 100")
        self._poll_generation += 1
        generation = self._poll_generation
        async with self._new:
            if offset > self.confirmed:
                self.confirmed = offset
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                self._new.notify_all()

            def ready() -> bool:
                return bool(self.pending()) or generation != self._poll_generation

            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._new.wait_for(ready)
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure "
                "that only one bot instance is running",
            )
        return [u for u in self.updates if u["update_id"] >= offset][:limit]

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self.updates.clear()
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url", ""))
        if not re.match(r"https://\S+$", url):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("secret token contains unallowed characters")
        self.webhook = dict(params)
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad("commands must be an Array of at most 100 BotCommand")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        language = str(params.get("language_code", ""))
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad("LANG_CODE_INVALID")
        self.commands[language] = commands
        return True

    async def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.commands.get(str(params.get("language_code", "")), [])

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        raw = params.get("text")
        if not isinstance(raw, str) or not raw:
            raise bad("message text is empty")
        parse_mode = params.get("parse_mode") or None
        text = visible_text(raw, parse_mode)
        if not text.strip():
            raise bad("message text is empty")
        if utf16_len(text) > 4096:
            raise bad("message is too long")
        markup = params.get("reply_markup")
        if markup is not None:
            check_markup(markup)
        self._rate(chat)
        for entry in list(self.send_failures):
            if entry[0] == self.accepted_messages:
                self.send_failures.remove(entry)
                raise entry[1]
        if self.hold_sends:
            async with self._new:
                self.held += 1
                self._new.notify_all()
            await asyncio.sleep(3600)  # the client dies meanwhile; the message is never accepted
        sent = Sent(
            chat,
            next(self._message_ids[chat]),
            "sendMessage",
            text,
            raw,
            parse_mode,
            markup,
            time.time(),
            params,
        )
        self.accepted_messages += 1
        await self._record(sent)
        return self._message_json(sent)

    async def _m_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        lat, lon = self._coords(params)
        self._rate(chat)
        sent = Sent(
            chat,
            next(self._message_ids[chat]),
            "sendLocation",
            "",
            "",
            None,
            params.get("reply_markup"),
            time.time(),
            {"latitude": lat, "longitude": lon},
        )
        return self._message_json(await self._record(sent))

    async def _m_sendVenue(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        lat, lon = self._coords(params)
        if not str(params.get("title", "")).strip() or not str(params.get("address", "")).strip():
            raise bad("title and address must be non-empty")
        self._rate(chat)
        sent = Sent(
            chat,
            next(self._message_ids[chat]),
            "sendVenue",
            str(params["title"]),
            "",
            None,
            params.get("reply_markup"),
            time.time(),
            {"latitude": lat, "longitude": lon},
        )
        return self._message_json(await self._record(sent))

    @staticmethod
    def _coords(params: dict[str, Any]) -> tuple[float, float]:
        try:
            lat, lon = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad("latitude and longitude are required numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise bad("wrong coordinates")
        return lat, lon

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        message_id = self._int(params, "message_id")
        target = next((s for s in self.sent[chat] if s.message_id == message_id), None)
        if target is None:
            raise bad("message to edit not found")
        markup = params.get("reply_markup")
        if markup is not None:
            check_markup(markup)
            if "inline_keyboard" not in markup:
                raise bad("inline keyboard expected")
        if (markup or None) == (target.markup or None) or (not markup and not target.buttons):
            raise bad(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message"
            )
        target.markup = markup or None
        async with self._new:
            self._new.notify_all()
        return self._message_json(target)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self.callback_queries.get(query_id, True):
            raise bad("query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text", ""))) > 200:
            raise bad("MESSAGE_TOO_LONG")
        self.callback_queries[query_id] = True
        if params.get("text"):
            self.callback_answers[query_id] = str(params["text"])
        return True


def _kept_updates(database: Path) -> int:
    """How many updates the bot's database still keeps unanswered (read-only, beside the bot)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT COUNT(*) FROM received").fetchone()[0])
