"""Turning core replies into Telegram messages: HTML escaping, splitting, keyboards, deep links.

Pure functions (no network): the Telegram adapter calls them, tests call them directly.
The core sends plain text; every piece of it is escaped here before it meets `parse_mode=HTML`.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.links import telegram_link
from bot.messages import Choice, Reply, StructureCard

MAX_TEXT = 4096  # Telegram: 1-4096 characters after entity parsing (counted in UTF-16 units)
MAX_CALLBACK_DATA = 64  # bytes
MAX_BUTTONS = 100
SHORT_LABEL = 20  # labels up to this length go two per row
DIGEST_PREFIX = "~"  # callback_data starting with this is a digest of a longer choice id
LOCATION_BUTTON = "📍 Partager ma position"
LOCATION_PROMPT = "Vous pouvez aussi partager votre position avec le bouton ci-dessous."
EMPTY_TEXT = "…"

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


@dataclass(frozen=True, slots=True)
class Venue:
    """A place Telegram shows on a map, with its name and address (tap: directions)."""

    latitude: float
    longitude: float
    title: str
    address: str


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One Telegram message: HTML text, its plain-text twin (fallback) and an optional keyboard."""

    html: str
    plain: str
    markup: Markup | None = None
    venue: Venue | None = None  # sent with sendVenue instead of a text


MAX_VENUE_FIELD = 256  # title and address stay short on a phone


def venue_of(card: StructureCard) -> Venue | None:
    """The card as a Telegram venue; None without coordinates."""
    if card.latitude is None or card.longitude is None:
        return None
    parts = [p for p in (card.adresse, card.commune) if p]
    if card.adresse and card.commune and card.commune.lower() in card.adresse.lower():
        parts = [card.adresse]
    address = ", ".join(parts) or f"{card.latitude:.5f}, {card.longitude:.5f}"
    return Venue(
        card.latitude, card.longitude, card.nom[:MAX_VENUE_FIELD], address[:MAX_VENUE_FIELD]
    )


def escape(text: str) -> str:
    """Escape plain text for parse_mode=HTML (Telegram needs &lt; &gt; &amp; outside tags)."""
    return html.escape(text, quote=False)


def visible_length(text: str) -> int:
    """Telegram's length of a text: UTF-16 code units (an emoji may count for two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split plain text into parts of at most `limit` (UTF-16 units) at paragraph, then line,
    then word boundaries; a single word longer than the limit is cut."""
    text = text.strip()
    if visible_length(text) <= limit:
        return [text] if text else []
    return _split(text, limit, ("\n\n", "\n", " "))


def _split(text: str, limit: int, seps: tuple[str, ...]) -> list[str]:
    if visible_length(text) <= limit:
        return [text] if text.strip() else []
    if not seps:
        return _hard_cut(text, limit)
    sep, rest = seps[0], seps[1:]
    parts: list[str] = []
    current = ""
    for unit in text.split(sep):
        if not unit.strip():
            continue
        candidate = f"{current}{sep}{unit}" if current else unit
        if visible_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current.strip())
        if visible_length(unit) <= limit:
            current = unit
        else:
            pieces = _split(unit, limit, rest)
            parts.extend(pieces[:-1])
            current = pieces[-1] if pieces else ""
    if current.strip():
        parts.append(current.strip())
    return parts


def _hard_cut(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for ch in text:
        if visible_length(current + ch) > limit:
            parts.append(current)
            current = ""
        current += ch
    if current:
        parts.append(current)
    return parts


def callback_data(choice_id: str) -> str:
    """The callback_data for a choice: the id itself if it fits in 64 bytes, else a stable digest
    (resolve it back with the mapping the adapter keeps)."""
    raw = choice_id.encode()
    if 0 < len(raw) <= MAX_CALLBACK_DATA and not choice_id.startswith(DIGEST_PREFIX):
        return choice_id
    digest = base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    return DIGEST_PREFIX + digest[:32]


def needs_mapping(choice_id: str) -> bool:
    return callback_data(choice_id) != choice_id


def inline_keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup:
    """One button per row for long labels, two per row for short ones; order is kept."""
    rows: list[list[InlineKeyboardButton]] = []
    pending: list[InlineKeyboardButton] = []
    for choice in choices[:MAX_BUTTONS]:
        button = InlineKeyboardButton(
            choice.label or choice.id, callback_data=callback_data(choice.id)
        )
        if len(choice.label) <= SHORT_LABEL:
            pending.append(button)
            if len(pending) == 2:
                rows.append(pending)
                pending = []
        else:
            if pending:
                rows.append(pending)
                pending = []
            rows.append([button])
    if pending:
        rows.append(pending)
    return InlineKeyboardMarkup(rows)


def location_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(LOCATION_BUTTON, request_location=True)]],
        one_time_keyboard=True,
        resize_keyboard=True,
    )


def map_url(lat: float, lon: float) -> str:
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=16/{lat:.5f}/{lon:.5f}"
    )


def _map_lines(structures: tuple[StructureCard, ...]) -> tuple[list[str], list[str]]:
    """(html lines, plain lines): one map link per structure that has coordinates."""
    html_lines: list[str] = []
    plain_lines: list[str] = []
    for card in structures:
        if card.latitude is None or card.longitude is None:
            continue
        url = map_url(card.latitude, card.longitude)
        label = f"🗺️ {card.nom} : voir sur la carte"
        html_lines.append(f'<a href="{escape(url)}">{escape(label)}</a>')
        plain_lines.append(f"🗺️ {card.nom} : {url}")
    return html_lines, plain_lines


def render_reply(reply: Reply) -> list[OutMessage]:
    """One reply → one message (several if the text is longer than Telegram allows).

    The inline keyboard goes on the last part. A location request becomes a reply keyboard; if
    the last part already carries buttons, a short extra message carries it. A reply about
    one place (`Reply.venue`) is sent as a venue first, then its text: the map link is the
    venue.
    """
    place = reply.place
    venue = venue_of(place) if place is not None else None
    html_maps, plain_maps = _map_lines(() if venue else reply.structures)
    appendix_len = sum(visible_length(line) + 1 for line in plain_maps) + 1
    parts = split_text(reply.text) or [EMPTY_TEXT]
    messages: list[tuple[str, str]] = [(escape(p), p) for p in parts]
    if html_maps:
        last_html, last_plain = messages[-1]
        if visible_length(last_plain) + appendix_len <= MAX_TEXT:
            messages[-1] = (
                last_html + "\n\n" + "\n".join(html_maps),
                last_plain + "\n\n" + "\n".join(plain_maps),
            )
        else:
            messages.append(("\n".join(html_maps), "\n".join(plain_maps)))
    out = [OutMessage(h, p) for h, p in messages]
    if reply.choices:
        out[-1] = OutMessage(out[-1].html, out[-1].plain, inline_keyboard(reply.choices))
    if reply.request_location:
        if out[-1].markup is None:
            out[-1] = OutMessage(out[-1].html, out[-1].plain, location_keyboard())
        else:
            prompt = LOCATION_PROMPT
            out.append(OutMessage(escape(prompt), prompt, location_keyboard()))
    if venue is not None:
        out.insert(0, OutMessage("", f"📍 {venue.title}, {venue.address}", venue=venue))
    return out


def render_replies(replies: list[Reply]) -> list[OutMessage]:
    return [message for reply in replies for message in render_reply(reply)]


def deep_link(bot_username: str, code: str) -> str:
    """`https://t.me/<bot>?start=<code>`; the code must be 1-64 characters of [A-Za-z0-9_-]."""
    return telegram_link(bot_username, code)
