"""Opening hours (`horaires_accueil`, OpenStreetMap `opening_hours` syntax) in plain words.

Parsed and evaluated with the `opening-hours-py` library (public holidays of France included);
we only word the result: "ouvert aujourd'hui jusqu'à 17 h", "fermé aujourd'hui, ouvre lundi à
9 h", and a week written day by day ("du lundi au vendredi : 9 h–12 h, 14 h–17 h").
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from opening_hours import OpeningHours, State

from bot.texts import t

DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


class HoursError(ValueError):
    """Opening hours that do not parse; the message says where."""


@lru_cache(maxsize=8192)
def parse(text: str) -> OpeningHours:
    try:
        return OpeningHours(text, country="FR")
    except Exception as exc:  # the library raises its own ParserError
        raise HoursError(str(exc)) from exc


def check(text: str) -> str | None:
    """None when the text is valid OSM opening hours, else the parser's message."""
    try:
        parse(text)
    except HoursError as exc:
        return str(exc)
    return None


def clock(moment: dt.datetime, lang: str) -> str:
    if lang == "fr":
        return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"
    return moment.strftime("%-I:%M %p") if moment.minute else moment.strftime("%-I %p")


def today_state(text: str, now: dt.datetime, lang: str) -> str | None:
    """How it is now: "ouvert aujourd'hui jusqu'à 17 h", "fermé pour l'instant, ouvre à 14 h"."""
    try:
        hours = parse(text)
    except HoursError:
        return None
    state = hours.state(now)[0]
    change = hours.next_change(now)
    if state == State.UNKNOWN:
        return None
    if state == State.OPEN:
        if change is None or change.date() != now.date():
            return t(lang, "hours_open_now")
        return t(lang, "hours_open_until", heure=clock(change, lang))
    if change is None:
        return t(lang, "hours_closed")
    if change.date() == now.date():
        return t(lang, "hours_opens_today", heure=clock(change, lang))
    day = DAYS.get(lang, DAYS["fr"])[change.weekday()]
    if change.date() == now.date() + dt.timedelta(days=1):
        day = t(lang, "tomorrow")
    return t(lang, "hours_closed_opens", jour=day, heure=clock(change, lang))


def week(text: str, now: dt.datetime, lang: str) -> str | None:
    """The next seven days, days with the same hours together: "du lundi au vendredi : 9 h–17 h"."""
    try:
        hours = parse(text)
    except HoursError:
        return None
    start = dt.datetime.combine(now.date(), dt.time())
    stop = start + dt.timedelta(days=7)
    by_day: dict[int, list[str]] = {}
    for begin, end, state, _comment in hours.intervals(start, stop):
        if state != State.OPEN:
            continue
        while begin < min(end, stop):  # an interval over several days, day by day
            midnight = dt.datetime.combine(begin.date() + dt.timedelta(days=1), dt.time())
            finish = "24 h" if end >= midnight else clock(end, lang)
            by_day.setdefault(begin.weekday(), []).append(f"{clock(begin, lang)}–{finish}")
            begin = midnight
    if not by_day:
        return None
    names = DAYS.get(lang, DAYS["fr"])
    groups: list[tuple[list[int], str]] = []
    for day in range(7):
        slots = ", ".join(by_day.get(day, []))
        if not slots:
            continue
        if groups and groups[-1][1] == slots and groups[-1][0][-1] == day - 1:
            groups[-1][0].append(day)
        else:
            groups.append(([day], slots))
    parts = []
    for days, slots in groups:
        if len(days) == 1:
            label = names[days[0]]
        else:
            label = t(lang, "days_range", de=names[days[0]], a=names[days[-1]])
        parts.append(f"{label} : {slots}" if lang == "fr" else f"{label}: {slots}")
    return " ; ".join(parts)
