"""What every messaging adapter is, and the renderings shared by text-only platforms.

An adapter turns platform events into `Incoming`, calls `Dispatcher.handle`, sends the replies
with what its platform can do, calls `Dispatcher.confirm_sent`, and only then advances its
platform cursor (stored with `Store.set_cursor`). Platform errors become exceptions here, never
values in the core.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.dispatcher import Dispatcher
from bot.messages import Reply
from bot.store import Store

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


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which and how to fix it (in French)."""


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
