"""What every messaging adapter is, and the renderings shared by text-only platforms.

An adapter turns platform events into `Incoming`, calls `Dispatcher.handle`, sends the replies
with what its platform can do, calls `Dispatcher.confirm_sent`, and only then advances its
platform cursor (stored with `Store.set_cursor`). Platform errors become exceptions here, never
values in the core.

Every `Incoming` an adapter builds goes through `bounded()` before the dispatcher, the store or
the dialogue see it: text is made valid Unicode without control characters, line separators
are plain newlines, and sizes are bounded (a longer text is cut and marked `truncated`).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import ConfigError
from bot.dispatcher import Dispatcher
from bot.messages import Incoming, Reply
from bot.store import Store

if TYPE_CHECKING:
    from bot.staff.services import StaffServices

__all__ = [
    "BUTTONS",
    "HTML",
    "LOCATION",
    "VENUES",
    "Adapter",
    "AdapterContext",
    "Backoff",
    "ConfigError",
    "bounded",
    "clean_text",
    "make_private_dir",
    "make_private_file",
    "render_numbered",
]

# Capabilities an adapter may declare; the core never branches on them, only renderers do.
BUTTONS = "buttons"
LOCATION = "location"
HTML = "html"
VENUES = "venues"


class Adapter(Protocol):
    name: str
    capabilities: frozenset[str]

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; then finish the event in hand and return."""


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What an adapter is given: the core's entry point and the store for its cursor."""

    dispatcher: Dispatcher
    store: Store
    settings: Mapping[str, Any]
    data_dir: str
    staff: StaffServices | None = None  # outbox, call-back desk, admins (bot/staff/)


# --- the text boundary ---------------------------------------------------------------------------

MAX_TEXT_CHARS = 4_000  # what the dialogue reads of one message ("I read only the beginning")
MAX_CHOICE_CHARS = 256  # a choice id or a start payload: longer ones were never offered
MAX_ID_CHARS = 512  # conversation keys and event ids
MAX_TAG_CHARS = 64  # unsupported kinds, language hints

_SURROGATES = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n?|[\u0085\u2028\u2029\u000b\u000c]")
# C0 controls except tab and newline, DEL, C1 controls, the BOM, non-characters, and the
# bidirectional overrides that make a text display differently from what it says.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """Valid, printable text of at most `limit` characters, and whether it was cut.

    Lone surrogates become U+FFFD, CR/CRLF and U+0085/U+2028/U+2029 become newlines, control
    characters go (tabs and newlines stay). A text longer than `limit` is cut at the last space
    of its last few words, so no word is split. Only the first `4 × limit` characters are ever
    looked at, so a 1 MB message costs no more than a 16 kB one.
    """
    cut = len(text) > 4 * limit
    if cut:
        text = text[: 4 * limit]
    text = _SURROGATES.sub("\ufffd", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROLS.sub("", text)
    if len(text) <= limit:
        return text, cut
    head = text[:limit]
    space = head.rfind(" ", max(0, limit - 40))
    return (head[:space] if space > 0 else head), True


def _bounded_field(value: str | None, limit: int) -> str | None:
    return None if value is None else clean_text(value, limit)[0]


def bounded(incoming: Incoming) -> Incoming:
    """The same event with every string made valid and bounded: called by every adapter."""
    text, truncated = (None, False) if incoming.text is None else clean_text(incoming.text)
    return replace(
        incoming,
        conversation=clean_text(incoming.conversation, MAX_ID_CHARS)[0],
        event_id=clean_text(incoming.event_id, MAX_ID_CHARS)[0],
        text=text,
        truncated=truncated or incoming.truncated,
        choice=_bounded_field(incoming.choice, MAX_CHOICE_CHARS),
        start=_bounded_field(incoming.start, MAX_CHOICE_CHARS),
        unsupported=_bounded_field(incoming.unsupported, MAX_TAG_CHARS),
        language=_bounded_field(incoming.language, MAX_TAG_CHARS),
    )


# --- private files -------------------------------------------------------------------------------


def make_private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed; the folder itself is made 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def make_private_file(path: Path) -> None:
    """Make an existing file readable and writable by the bot's user only (0600)."""
    if path.exists():
        os.chmod(path, 0o600)


# --- rendering -----------------------------------------------------------------------------------


def render_numbered(reply: Reply) -> str:
    """Rasa-style: the text, then one numbered line per choice ("1. Trouver un emploi")."""
    if not reply.choices:
        return reply.text
    lines = [reply.text, ""]
    lines += [f"{n}. {choice.label}" for n, choice in enumerate(reply.choices, start=1)]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry policy as data: exponential with full jitter, capped."""

    base_s: float = 1.0
    cap_s: float = 60.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * self.factor ** max(0, attempt))
        return (rng or random).uniform(ceiling / 2, ceiling)
