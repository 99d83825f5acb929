"""Can a person use the contact details? Phone numbers, web addresses, opening hours.

- a phone number must be one valid number (`phonenumbers`, region of the département: Réunion's
  numbers in the 974…), or a valid short number (3949, 115);
- a web address must name a full public domain (`https://exemple` passes the URL syntax of the
  schema, but leads nowhere);
- opening hours must parse as OpenStreetMap `opening_hours` (`bot.hours.check`, the
  `opening-hours-py` library): the message says at which character, and a fix is offered when
  the hours were written the French way ("du lundi au vendredi 9h-12h").

E-mail addresses are checked by the schema itself (data·inclusion's `EmailStr`).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

import phonenumbers
from phonenumbers import shortnumberinfo

from bot import hours
from bot.kb.address_checks import Finding

PHONE_EXAMPLE: Final = "« 03 83 00 00 00 » ou « +33 3 83 00 00 00 »"
HOURS_EXAMPLE: Final = "« Mo-Fr 09:00-12:00,14:00-17:00; PH off »"
# Overseas départements have their own numbering regions.
_REGIONS: Final = {"971": "GP", "972": "MQ", "973": "GF", "974": "RE", "976": "YT"}
_SEVERAL = re.compile(r"\s(?:/|ou|et|-)\s|[,;/]")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LEVEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_PEST_POSITION = re.compile(r"-->\s*(\d+):(\d+)")
_PEST_EXPECTED = re.compile(r"=\s*(.+)$", re.MULTILINE)


def region_of(departement: str | None) -> str:
    return _REGIONS.get(departement or "", "FR")


# --- phone numbers --------------------------------------------------------------------------------


def phone_problem(text: str, region: str) -> tuple[str, str | None] | None:
    """(what is wrong, the fix or None) for a phone number, or None when it is valid."""
    if _valid_phone(text, region):
        return None
    parts = [p.strip() for p in _SEVERAL.split(text) if p.strip()]
    if len(parts) > 1 and _valid_phone(parts[0], region):
        return (
            f"un seul numéro par fiche, pas « {text} »",
            f'telephone: "{parts[0]}" (mettez l\'autre dans la description)',
        )
    return (
        f"numéro de téléphone invalide « {text} » (attendu : un seul numéro, par exemple "
        f"{PHONE_EXAMPLE}, ou un numéro court comme 3949)",
        None,
    )


def _valid_phone(text: str, region: str) -> bool:
    """A valid number written for `region` or for metropolitan France, or a short number of
    either (the national 3949 works overseas too)."""
    for where in dict.fromkeys((region, "FR")):
        try:
            number = phonenumbers.parse(text, where)
        except phonenumbers.NumberParseException:
            return False
        if phonenumbers.is_valid_number(number):
            return True
        if shortnumberinfo.is_valid_short_number_for_region(number, where):
            return True
    return False


# --- web addresses --------------------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """What is wrong with a web address the schema accepted, or None."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return f"adresse web illisible « {url} »"
    labels = host.split(".")
    if len(labels) < 2 or not _TOP_LEVEL.match(labels[-1]):
        return (
            f"adresse web sans nom de domaine complet « {url} » (attendu par exemple "
            "https://www.exemple.fr/…)"
        )
    if not all(_HOST_LABEL.match(label) for label in labels):
        return f"nom de domaine invalide dans « {url} »"
    return None


# --- opening hours --------------------------------------------------------------------------------


def check_hours(text: str, report: Finding, *field: str | int, error: str = "error") -> None:
    """Report opening hours that do not parse, pointing at the character the parser stopped."""
    message = hours.check(text)
    if message is None:
        return
    index, expected = _pest_details(message)
    where = ""
    if index is not None:
        word = text[index:].split(" ")[0][:20]
        where = f" au caractère {index + 1}" + (f" (« {word} »)" if word else " (à la fin)")
    detail = f" (attendu à cet endroit : {expected})" if expected else ""
    fix = french_hours(text)
    report(
        error,
        f"horaires illisibles{where} : format OpenStreetMap attendu, par exemple "
        f"{HOURS_EXAMPLE}{detail}",
        *field,
        fix=f'horaires_accueil: "{fix}"' if fix else None,
        offset=index,
    )


# What the parser's grammar rules mean, for the ones it most often expects.
_EXPECTED: Final = {
    "EOI": "la fin du texte",
    "any_rule_separator": "« ; » ou « , » entre deux règles",
    "timespan": "une plage horaire comme 09:00-12:00",
    "time": "une heure comme 09:00",
    "holiday": "PH (jours fériés)",
    "rules_modifier": "open, off ou closed",
    "small_range_selectors": "des jours comme Mo-Fr",
    "weekday_range": "des jours comme Mo-Fr",
    "wday": "un jour : Mo, Tu, We, Th, Fr, Sa ou Su",
}


def _pest_details(message: str) -> tuple[int | None, str | None]:
    """The 0-based character where the parser stopped (one-line hours) and, in French, what it
    expected there (the grammar's rules it names, the known ones)."""
    position = _PEST_POSITION.search(message)
    expected = _PEST_EXPECTED.search(message)
    index = int(position.group(2)) - 1 if position and position.group(1) == "1" else None
    if expected is None:
        return index, None
    names = re.findall(r"[A-Za-z_]+", expected.group(1).removeprefix("expected"))
    wanted = list(dict.fromkeys(_EXPECTED[n] for n in names if n in _EXPECTED))
    return index, " ; ".join(wanted[:3]) or None


_DAYS: Final = (
    ("lundi", "Mo"), ("mardi", "Tu"), ("mercredi", "We"), ("jeudi", "Th"), ("vendredi", "Fr"),
    ("samedi", "Sa"), ("dimanche", "Su"),
    ("lun", "Mo"), ("mar", "Tu"), ("mer", "We"), ("jeu", "Th"), ("ven", "Fr"), ("sam", "Sa"),
    ("dim", "Su"),
)  # fmt: skip
_DAY_WORD = re.compile(r"\b(" + "|".join(word for word, _ in _DAYS) + r")\.?\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2})\s*[hH:](?:\s*(\d{2}))?(?![\d:])")
_OSM_DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su)"


def french_hours(text: str) -> str | None:
    """Hours written the French way, rewritten in OSM syntax, if that parses; else None.

    "du lundi au vendredi 9h-12h et 14h-17h" → "Mo-Fr 09:00-12:00,14:00-17:00".
    """
    days = dict(_DAYS)
    out = _DAY_WORD.sub(lambda m: days[m.group(1).lower()], text)
    out = _CLOCK.sub(lambda m: f"{int(m.group(1)):02d}:{m.group(2) or '00'}", out)
    out = re.sub(r"(?<![\d:])(\d{1,2})\s*-\s*(\d{1,2})(?![\d:])", _bare_hours, out)
    out = re.sub(r"\bdu\s+(" + _OSM_DAY + r")\s+au\s+(" + _OSM_DAY + r")\b", r"\1-\2", out)
    out = re.sub(r"(" + _OSM_DAY + r")\s+(?:au|à)\s+(" + _OSM_DAY + r")\b", r"\1-\2", out)
    out = re.sub(r"(\d{2}:\d{2})\s*(?:-|–|à|a)\s*(\d{2}:\d{2})", r"\1-\2", out)
    out = re.sub(r"(\d{2}:\d{2})\s*(?:,|et|/)\s*(\d{2}:\d{2})", r"\1,\2", out)
    out = re.sub(r"(" + _OSM_DAY + r")\s*(?:,|et)\s*(" + _OSM_DAY + r")\b", r"\1,\2", out)
    out = re.sub(r"\s*:\s*(\d{2}:\d{2})", r" \1", out)  # "Mo-Fr : 09:00" → "Mo-Fr 09:00"
    out = re.sub(r"\s+", " ", out).strip()
    if out == text or hours.check(out) is not None:
        return None
    return out


def _bare_hours(match: re.Match[str]) -> str:
    start, end = int(match.group(1)), int(match.group(2))
    if not 0 <= start < end <= 24:
        return match.group(0)
    return f"{start:02d}:00-{end:02d}:00"
