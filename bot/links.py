"""Counsellors' links: a referral code, a Telegram deep link, a Matrix link, a QR code and a
printable poster.

The payload is `CODE[__b-<need>][__c-<insee>]`: Telegram allows at most 64 characters of
`[A-Za-z0-9_-]` after `?start=`. Some clients drop the payload, and Matrix has none, so the
same code can always be typed by hand: `code CD54-NANCY`.

The QR code is written as PNG and SVG with the 4-module quiet zone scanners need (segno); the
poster is one A4 page (fpdf2): the QR code, the link written out, the code to type, two plain
lines on what the bot does and what it keeps, and the counsellor's label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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


QUIET_ZONE = 4  # modules of white around the code: what the QR standard asks for
QR_SCALE = 10  # pixels per module in the PNG


def write_qr(url: str, target: Path) -> None:
    """The QR code of `url`, as PNG or SVG (by the file's suffix), with a 4-module quiet zone."""
    import segno

    qr = segno.make(url, error="m", micro=False)
    if target.suffix.lower() == ".svg":
        qr.save(str(target), kind="svg", scale=QR_SCALE, border=QUIET_ZONE, xmldecl=True)
    else:
        qr.save(str(target), kind="png", scale=QR_SCALE, border=QUIET_ZONE)


@dataclass(frozen=True, slots=True)
class Poster:
    """What a counsellor's poster says."""

    link: str  # the link the QR code opens (Telegram deep link, else the Matrix link)
    code: str
    label: str  # the counsellor's label, e.g. "Maison des solidarités de Toul"
    other_link: str | None = None  # the Matrix link, when the QR code is Telegram's


POSTER_TITLE = "Besoin d'un emploi, d'une solution pour vous déplacer ?"
POSTER_WHAT = (
    "Ce robot vous oriente vers les structures près de chez vous : emploi, insertion, "
    "mobilité, création d'activité."
)
POSTER_KEPT = (
    "Il garde seulement votre commune, votre situation et votre besoin. "
    "Tapez /oubli pour tout effacer."
)
POSTER_ENGLISH = (
    "Scan the code to find local help for work and transport. "
    "It keeps only your town, situation and need; type /oubli to erase them."
)
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans.ttf"),
)


def write_poster(poster: Poster, qr_png: Path, target: Path) -> None:
    """A one-page A4 PDF poster with the QR code (the PNG written by `write_qr`)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"Aiguillage — {poster.label}")
    pdf.set_creator("aiguillage link")
    family, text = _font(pdf)
    pdf.add_page()
    width = pdf.w - 2 * 20

    def line(size: float, words: str, height: float, style: str = "") -> None:
        pdf.set_font(family, style if family == "Helvetica" else "", size)
        pdf.set_x(20)
        pdf.multi_cell(width, height, text(words), align="C")

    pdf.set_y(22)
    line(24, POSTER_TITLE, 11, "B")
    pdf.ln(4)
    line(15, POSTER_WHAT, 7.5)
    qr_size = 105.0
    pdf.image(str(qr_png), x=(pdf.w - qr_size) / 2, y=pdf.get_y() + 6, w=qr_size, h=qr_size)
    pdf.set_y(pdf.get_y() + qr_size + 10)
    line(14, "Scannez ce code avec l'appareil photo de votre téléphone.", 7)
    line(11, poster.link, 6)
    if poster.other_link:
        line(11, f"Avec Matrix (Element) : {poster.other_link}", 6)
    pdf.ln(3)
    line(16, f"Ou écrivez au robot et tapez : code {poster.code}", 8, "B")
    pdf.ln(3)
    line(12, POSTER_KEPT, 6.5)
    pdf.ln(4)
    line(14, f"Votre conseiller : {poster.label}", 7, "B")
    pdf.set_y(pdf.h - 22)
    line(9, POSTER_ENGLISH, 5)
    pdf.output(str(target))


def _font(pdf: Any) -> tuple[str, Any]:
    """DejaVu Sans when installed (every character), else Helvetica with Windows-1252."""
    for path in FONT_CANDIDATES:
        if path.exists():
            pdf.add_font("DejaVu", "", str(path))
            return "DejaVu", lambda words: words
    pdf.core_fonts_encoding = "windows-1252"
    return "Helvetica", lambda words: words.encode("cp1252", "replace").decode("cp1252")
