"""The console adapter: an interactive chat in the terminal, and the JSON-lines contract.

JSON lines (design.md): one JSON object per input line, exactly one JSON object per output line,
in the same order; a bad line gets `{"error": "..."}` and the session goes on. No input ends the
session: standard input is read as bytes and decoded with replacement (whatever the locale), a
line longer than `MAX_LINE_BYTES` is skipped with an error, and any failure while answering a
line (nesting too deep, a 5,000-digit number, a huge latitude, a bug) becomes an error line too.
Error messages never quote the input. A closed standard output ends the session quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from adapters.base import MAX_ID_CHARS, bounded, clean_text, render_numbered
from bot.dispatcher import Dispatcher
from bot.messages import Incoming, Location, Turn

if TYPE_CHECKING:
    from bot.staff.outbox import Outbox, OutMessage

log = logging.getLogger(__name__)

PLATFORM = "console"
MAX_LINE_BYTES = 8 * 1024 * 1024  # a line longer than this is refused, not read into memory
MAX_USER_CHARS = 200
_QUEUE_LINES = 64  # lines read ahead of the one being answered


class JsonLineError(ValueError):
    """A JSON-lines input line that does not follow the contract."""


@dataclass(frozen=True, slots=True)
class OversizedLine:
    """An input line longer than MAX_LINE_BYTES: skipped, answered with an error."""

    size: int


Line = str | bytes | OversizedLine


def parse_line(line: str | bytes) -> Incoming:
    """The `Incoming` of one JSON line; raises JsonLineError (with a message for the caller)."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    if not line.strip():
        raise JsonLineError("empty line: expected one JSON object")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise JsonLineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise JsonLineError("invalid JSON: nested too deeply") from None
    except ValueError:  # e.g. an integer of more than 4,300 digits
        raise JsonLineError("invalid JSON: a number is too long") from None
    if not isinstance(data, dict):
        raise JsonLineError("each line must be a JSON object")
    user = data.get("user")
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_CHARS:
        raise JsonLineError('"user" must be a non-empty string (at most 200 characters)')
    fields = [k for k in ("text", "choice", "location", "start") if k in data]
    if len(fields) != 1:
        raise JsonLineError('give exactly one of "text", "choice", "location" or "start"')
    kind = fields[0]
    event_id = _event_id(data.get("id"))
    value = data[kind]
    user = clean_text(user, MAX_USER_CHARS)[0]
    if kind == "location":
        return bounded(Incoming(PLATFORM, user, event_id, location=_location(value)))
    if not isinstance(value, str):
        raise JsonLineError(f'"{kind}" must be a string')
    if kind == "text":
        return bounded(Incoming(PLATFORM, user, event_id, text=value))
    if kind == "choice":
        return bounded(Incoming(PLATFORM, user, event_id, choice=value))
    return bounded(Incoming(PLATFORM, user, event_id, start=value))


def _event_id(value: Any) -> str:
    if value is None or value == "":
        return uuid.uuid4().hex
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise JsonLineError('"id" must be a string or an integer')
    text = str(value) if isinstance(value, str) else format(value)
    if len(text) > MAX_ID_CHARS:
        raise JsonLineError(f'"id" must be at most {MAX_ID_CHARS} characters')
    return text


def _location(value: Any) -> Location:
    if not isinstance(value, dict):
        raise JsonLineError('"location" must be an object {"lat": ..., "lon": ...}')
    lat, lon = value.get("lat"), value.get("lon")
    problem = JsonLineError('"location" needs numbers "lat" (-90..90) and "lon" (-180..180)')
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        raise problem
    try:
        flat, flon = float(lat), float(lon)  # type: ignore[arg-type]
    except OverflowError:  # an integer too large for a float
        raise problem from None
    if not (-90 <= flat <= 90 and -180 <= flon <= 180):  # NaN fails both
        raise problem
    return Location(flat, flon)


def turn_json(user: str, turn: Turn) -> dict[str, Any]:
    return {
        "user": user,
        "replies": [reply.to_json() for reply in turn.replies],
        "trace": turn.trace.to_json(),
    }


def dumps(obj: Any) -> str:
    """One JSON line; always encodable (a stray surrogate is written as an escape)."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True)
    return text


async def answer_line(dispatcher: Dispatcher, line: Line) -> tuple[dict[str, Any], Incoming | None]:
    """The JSON object that answers one input line, and the event to confirm once written."""
    if isinstance(line, OversizedLine):
        return {"error": f"line too long: at most {MAX_LINE_BYTES} bytes"}, None
    try:
        incoming = parse_line(line)
    except JsonLineError as exc:
        return {"error": str(exc)}, None
    turn = await dispatcher.handle(incoming)
    return turn_json(incoming.conversation, turn), incoming


async def serve_jsonl(dispatcher: Dispatcher, lines: AsyncIterator[Line], out: TextIO) -> int:
    """Answer every line with exactly one line, in order; returns how many lines were handled.

    A line that cannot be answered gets `{"error": ...}`; a closed output (BrokenPipeError)
    ends the session and is raised to the caller."""
    count = 0
    async for line in lines:
        count += 1
        incoming: Incoming | None = None
        try:
            answer, incoming = await answer_line(dispatcher, line)
        except Exception as exc:  # never let one line end the session
            log.error("JSON line %d could not be answered: %s", count, type(exc).__name__)
            answer = {"error": "internal error: this line could not be answered"}
        out.write(dumps(answer) + "\n")
        out.flush()
        if incoming is not None:
            try:
                await dispatcher.confirm_sent(incoming)
            except Exception as exc:
                log.error("JSON line %d not confirmed: %s", count, type(exc).__name__)
    return count


async def stdin_lines(stream: BinaryIO | None = None) -> AsyncIterator[Line]:
    """Lines of standard input as bytes, read by a daemon thread (never blocks the exit)."""
    source = stream if stream is not None else sys.stdin.buffer
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Line | None] = asyncio.Queue()
    room = threading.Semaphore(_QUEUE_LINES)  # the reader stays at most this far ahead

    def hand_over(item: Line | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody reads any more
            return False
        return item is not None

    def read() -> None:
        try:
            while room.acquire() and hand_over(_read_line(source)):
                pass
        except (OSError, ValueError) as exc:  # a closed or unreadable stream ends the input
            log.warning("standard input closed: %s", type(exc).__name__)
            hand_over(None)

    threading.Thread(target=read, name="stdin-reader", daemon=True).start()
    while (line := await queue.get()) is not None:
        room.release()
        yield line


def _read_line(source: BinaryIO) -> Line | None:
    line = source.readline(MAX_LINE_BYTES + 1)
    if not line:
        return None
    if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
        return line
    size = len(line)
    while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
        line = source.readline(1 << 20)
        size += len(line)
    return OversizedLine(size)


async def chat(
    dispatcher: Dispatcher,
    user: str = "moi",
    out: TextIO = sys.stdout,
    lines: AsyncIterator[Line] | None = None,
    outbox: Outbox | None = None,
    poll_s: float = 2.0,
) -> None:
    """An interactive conversation in the terminal: choices are numbered, type the number.

    With `outbox`, messages for this person that come outside a turn (a counsellor took their
    call-back request, "did it help?") are printed as they arrive."""
    source = lines if lines is not None else stdin_lines()
    first = Incoming(PLATFORM, user, uuid.uuid4().hex, start="")
    state = await dispatcher.store.load_state(dispatcher.store.key_for(PLATFORM, user))
    if state is None:
        await _show(dispatcher, first, out)
    out.write("(Tapez votre message. Ctrl-D pour quitter. / Type your message. Ctrl-D to quit.)\n")
    stop = asyncio.Event()
    drainer = None
    if outbox is not None:
        from bot.staff.outbox import drain

        drainer = asyncio.ensure_future(
            drain(outbox, PLATFORM, lambda m: _print_outbox(m, user, out), stop, poll_s)
        )
    try:
        await _converse(dispatcher, user, out, source)
    finally:
        stop.set()
        if drainer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await drainer


async def _converse(
    dispatcher: Dispatcher, user: str, out: TextIO, source: AsyncIterator[Line]
) -> None:
    while True:
        out.write("\n> ")
        out.flush()
        line = await anext(source, None)
        if line is None:
            out.write("\nÀ bientôt ! / Goodbye!\n")
            return
        if isinstance(line, OversizedLine):
            out.write("\nMessage trop long : je ne l'ai pas lu. / Message too long: not read.\n")
            continue
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        if text.strip():
            incoming = bounded(Incoming(PLATFORM, user, uuid.uuid4().hex, text=text))
            await _show(dispatcher, incoming, out)


async def _print_outbox(message: OutMessage, user: str, out: TextIO) -> None:
    from bot.staff.outbox import TryLater

    if message.target != user:
        raise TryLater("another terminal user")
    out.write("\n" + message.text + "\n")
    if message.actions:
        out.write("\n".join(f"{n}. {a.label}" for n, a in enumerate(message.actions, 1)) + "\n")
    out.flush()


async def _show(dispatcher: Dispatcher, incoming: Incoming, out: TextIO) -> None:
    turn = await dispatcher.handle(incoming)
    for reply in turn.replies:
        out.write("\n" + render_numbered(reply) + "\n")
    out.flush()
    await dispatcher.confirm_sent(incoming)
