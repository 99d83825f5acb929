"""The filters an admin chooses (period, département, counsellor code), read from the query.

Bad values never fail a page: they are explained on it, and the default is used instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from urllib.parse import urlencode

from bot.dashboard.data import CallbackState, Filters, Period, QuestionState
from bot.dashboard.labels import Labels

PERIODS = {"7": "7 derniers jours", "30": "30 derniers jours", "90": "90 derniers jours"}


MAX_CUSTOM_DAYS = 3 * 366


_DEPT = re.compile(r"^(\d{2}|2[AB]|97\d)$")


_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_filters(query: Mapping[str, str], today: dt.date) -> tuple[Filters, list[str]]:
    """The period, département and code asked for; problems are explained, never fatal."""
    problems: list[str] = []
    preset = query.get("periode") or "30"
    start_text, end_text = (query.get("du") or "").strip(), (query.get("au") or "").strip()
    period = Period.last(30, today)
    if preset in PERIODS:
        period = Period.last(int(preset), today)
    elif preset == "perso" or start_text or end_text:
        start, end = _date(start_text), _date(end_text)
        if start is None or end is None:
            problems.append(
                "Période personnalisée : donnez deux dates (du … au …) au format JJ/MM/AAAA. "
                "Les 30 derniers jours sont affichés. / Custom period: give two valid dates."
            )
        elif end < start:
            problems.append(
                "Période personnalisée : la date de fin est avant la date de début. "
                "Les 30 derniers jours sont affichés. / The end date is before the start date."
            )
        elif (end - start).days + 1 > MAX_CUSTOM_DAYS:
            problems.append(
                "Période personnalisée : trois ans au plus. Les 30 derniers jours sont affichés. "
                "/ At most three years."
            )
        else:
            period = Period(start, end, "perso")
    else:
        problems.append(f"Période inconnue. {PERIODS['30'].capitalize()} sont affichés.")
    departement = (query.get("departement") or "").strip().upper() or None
    if departement and not _DEPT.match(departement):
        problems.append(
            "Ce département n'existe pas (exemples : 54, 2A, 974). Tous sont affichés. "
            "/ Unknown département."
        )
        departement = None
    code = (query.get("code") or "").strip() or None
    if code and not _CODE.match(code):
        problems.append(
            "Ce code conseiller n'est pas valable (lettres, chiffres, - et _). Tous sont "
            "affichés. / Invalid counsellor code."
        )
        code = None
    return Filters(period, departement, code), problems


def _date(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def question_state_param(value: str | None) -> QuestionState:
    if value == "traitees":
        return "traitees"
    if value == "toutes":
        return "toutes"
    return "a_traiter"


def callback_state_param(value: str | None) -> CallbackState:
    if value == "nouveau":
        return "nouveau"
    if value == "traite":
        return "traite"
    return "tous"


def ids_param(text: str) -> list[int]:
    return [int(part) for part in text.split(",")[:100_000] if part.strip().isdigit()]


def query_string(filters: Filters, **extra: str) -> str:
    period = filters.period
    values: dict[str, str] = {"periode": period.preset}
    if period.preset == "perso":
        values["du"], values["au"] = period.start.isoformat(), period.end.isoformat()
    if filters.departement:
        values["departement"] = filters.departement
    if filters.code:
        values["code"] = filters.code
    values.update(extra)
    return urlencode(values)


def describe(filters: Filters, labels: Labels) -> str:
    period = filters.period
    if period.preset in PERIODS:
        span = f"du {period.start:%d/%m/%Y} au {period.end:%d/%m/%Y}"
        text = f"{PERIODS[period.preset].capitalize()} ({span})"
    else:
        text = f"Du {period.start:%d/%m/%Y} au {period.end:%d/%m/%Y}"
    text += " · " + (
        labels.departement(filters.departement) if filters.departement else "tous les départements"
    )
    text += " · " + (labels.code(filters.code) if filters.code else "tous les codes conseillers")
    return text
