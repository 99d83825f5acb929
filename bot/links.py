"""Counsellors' links: a referral code, a Telegram deep link, a Matrix link and a QR code.

The payload is `CODE[__b-<need>][__c-<insee>]`: Telegram allows at most 64 characters of
`[A-Za-z0-9_-]` after `?start=`. Some clients drop the payload, and Matrix has none, so the
same code can always be typed by hand: `code CD54-NANCY`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TELEGRAM_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
CODE_RE = re.compile(r"^[A-Za-z0-9-]{2,40}$")


class LinkError(ValueError):
    """The code or a preset cannot be carried by a deep link (message in French)."""


@dataclass(frozen=True, slots=True)
class Links:
    code: str
    payload: str
    telegram: str | None
    matrix: str | None


def build_payload(code: str, need: str | None = None, commune: str | None = None) -> str:
    code = code.strip().upper()
    if not CODE_RE.fullmatch(code):
        raise LinkError(
            f"code « {code} » invalide : 2 à 40 lettres, chiffres ou tirets (ex. CD54-NANCY)."
        )
    parts = [code]
    if need:
        parts.append(f"b-{need}")
    if commune:
        parts.append(f"c-{commune}")
    payload = "__".join(parts)
    if not PAYLOAD_RE.fullmatch(payload):
        raise LinkError(
            f"lien trop long ou caractères interdits ({len(payload)} caractères, 64 au plus)."
        )
    return payload


def telegram_link(bot_username: str, payload: str) -> str:
    """`https://t.me/<bot>?start=<payload>`, checked against Telegram's rules."""
    username = bot_username.strip().removeprefix("@")
    if not TELEGRAM_USERNAME_RE.fullmatch(username):
        raise LinkError(f"nom de bot Telegram invalide : « {bot_username} »")
    if not PAYLOAD_RE.fullmatch(payload):
        raise LinkError(
            f"code invalide pour un lien Telegram : « {payload} » (1 à 64 caractères parmi "
            "A-Z, a-z, 0-9, _ et -)"
        )
    return f"https://t.me/{username}?start={payload}"


def build_links(
    code: str,
    *,
    need: str | None = None,
    commune: str | None = None,
    telegram_bot: str | None = None,
    matrix_user: str | None = None,
) -> Links:
    payload = build_payload(code, need, commune)
    telegram = telegram_link(telegram_bot, payload) if telegram_bot else None
    matrix = f"https://matrix.to/#/{quote(matrix_user, safe='@:')}" if matrix_user else None
    return Links(payload.split("__")[0], payload, telegram, matrix)


def write_qr(url: str, target: Path) -> None:
    import segno

    qr = segno.make(url, error="m")
    qr.save(str(target), scale=8, border=2)
