"""The console adapter: an interactive chat in the terminal, and the JSON-lines contract.

JSON lines (design.md): one JSON object per input line, exactly one JSON object per output line,
in the same order; a bad line gets `{"error": "..."}` and the session goes on.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any, TextIO

from adapters.base import render_numbered
from bot.dispatcher import Dispatcher
from bot.messages import Incoming, Location, Turn

PLATFORM = "console"


class JsonLineError(ValueError):
    """A JSON-lines input line that does not follow the contract."""


def parse_line(line: str) -> Incoming:
    if not line.strip():
        raise JsonLineError("empty line: expected one JSON object")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise JsonLineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise JsonLineError("each line must be a JSON object")
    user = data.get("user")
    if not isinstance(user, str) or not user or len(user) > 200:
        raise JsonLineError('"user" must be a non-empty string (at most 200 characters)')
    fields = [k for k in ("text", "choice", "location", "start") if k in data]
    if len(fields) != 1:
        raise JsonLineError('give exactly one of "text", "choice", "location" or "start"')
    kind = fields[0]
    event_id = str(data.get("id") or uuid.uuid4().hex)
    value = data[kind]
    if kind == "location":
        return Incoming(PLATFORM, user, event_id, location=_location(value))
    if not isinstance(value, str):
        raise JsonLineError(f'"{kind}" must be a string')
    if kind == "text":
        return Incoming(PLATFORM, user, event_id, text=value)
    if kind == "choice":
        return Incoming(PLATFORM, user, event_id, choice=value)
    return Incoming(PLATFORM, user, event_id, start=value)


def _location(value: Any) -> Location:
    if not isinstance(value, dict):
        raise JsonLineError('"location" must be an object {"lat": ..., "lon": ...}')
    lat, lon = value.get("lat"), value.get("lon")
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon))
    if not ok or not (-90 <= float(lat) <= 90 and -180 <= float(lon) <= 180):  # type: ignore[arg-type]
        raise JsonLineError('"location" needs numbers "lat" (-90..90) and "lon" (-180..180)')
    return Location(float(lat), float(lon))  # type: ignore[arg-type]


def turn_json(user: str, turn: Turn) -> dict[str, Any]:
    return {
        "user": user,
        "replies": [reply.to_json() for reply in turn.replies],
        "trace": turn.trace.to_json(),
    }


async def serve_jsonl(dispatcher: Dispatcher, lines: AsyncIterator[str], out: TextIO) -> int:
    """Answer every line; returns how many lines were handled."""
    count = 0
    async for line in lines:
        count += 1
        try:
            incoming = parse_line(line)
        except JsonLineError as exc:
            out.write(json.dumps({"error": str(exc)}, ensure_ascii=False) + "\n")
            out.flush()
            continue
        turn = await dispatcher.handle(incoming)
        out.write(json.dumps(turn_json(incoming.conversation, turn), ensure_ascii=False) + "\n")
        out.flush()
        await dispatcher.confirm_sent(incoming)
    return count


async def stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line


async def chat(dispatcher: Dispatcher, user: str = "moi", out: TextIO = sys.stdout) -> None:
    """An interactive conversation in the terminal: choices are numbered, type the number."""
    loop = asyncio.get_running_loop()
    first = Incoming(PLATFORM, user, uuid.uuid4().hex, start="")
    state = await dispatcher.store.load_state(dispatcher.store.key_for(PLATFORM, user))
    if state is None:
        await _show(dispatcher, first, out)
    out.write("(Tapez votre message. Ctrl-D pour quitter. / Type your message. Ctrl-D to quit.)\n")
    while True:
        out.write("\n> ")
        out.flush()
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            out.write("\nÀ bientôt !\n")
            return
        if line.strip():
            await _show(dispatcher, Incoming(PLATFORM, user, uuid.uuid4().hex, text=line), out)


async def _show(dispatcher: Dispatcher, incoming: Incoming, out: TextIO) -> None:
    turn = await dispatcher.handle(incoming)
    for reply in turn.replies:
        out.write("\n" + render_numbered(reply) + "\n")
    out.flush()
    await dispatcher.confirm_sent(incoming)
