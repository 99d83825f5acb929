"""The counsellor's message about a call-back request: short, in French, no internal ids."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.staff.outbox import Action

TAKE = "prendre"


@dataclass(frozen=True, slots=True)
class RequestView:
    """A call-back row as the counsellors see it."""

    id: int
    phone: str | None
    moment: str | None
    contact: str  # "telephone" | "ici"
    platform: str
    referral: str | None
    code_label: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, row: dict[str, Any], code_label: str | None) -> RequestView:
        try:
            details = json.loads(row.get("details") or "{}")
        except ValueError:
            details = {}
        return cls(
            id=int(row["id"]),
            phone=row.get("phone"),
            moment=row.get("moment"),
            contact=str(row.get("contact") or "telephone"),
            platform=str(row.get("platform") or ""),
            referral=row.get("referral"),
            code_label=code_label,
            details=details if isinstance(details, dict) else {},
        )


PLATFORM_NAMES = {"telegram": "Telegram", "matrix": "Matrix", "console": "le terminal"}


def how_to_reach(view: RequestView) -> str:
    when = f" ({view.moment})" if view.moment else ""
    if view.contact == "ici" or not view.phone:
        where = PLATFORM_NAMES.get(view.platform, view.platform)
        return f"par écrit, dans sa conversation avec le bot ({where}){when}"
    return f"au {view.phone}{when}"


def request_text(view: RequestView, *, reminder: str = "") -> str:
    """The summary: need, commune, situation, structures proposed, language, how to reach."""
    d = view.details
    lines = [f"📞 Demande de rappel n°{view.id} / Call-back request #{view.id}"]
    if reminder:
        lines.append(reminder)
    rows = [
        ("Besoin", d.get("besoin") or "non précisé"),
        ("Commune", d.get("commune") or "non précisée"),
        ("Situation", _situation(d)),
        ("Structures proposées", " ; ".join(d.get("structures") or []) or "aucune encore"),
        ("Langue", d.get("langue") or "français"),
        ("Joindre", how_to_reach(view)),
    ]
    if view.referral:
        label = f" ({view.code_label})" if view.code_label else ""
        rows.append(("Venue par le code", f"{view.referral}{label}"))
    lines += [f"{name} : {value}" for name, value in rows]
    return "\n".join(lines)


def _situation(d: dict[str, Any]) -> str:
    parts = list(d.get("situation") or [])
    if d.get("age"):
        parts.append(f"{d['age']} ans")
    if d.get("sans_emploi_mois"):
        parts.append(f"sans emploi depuis {d['sans_emploi_mois']} mois")
    return ", ".join(parts) or "non précisée"


def take_actions(callback_id: int) -> tuple[Action, ...]:
    return (Action(f"staff:{TAKE}:{callback_id}", "✋ Je prends / I take it"),)


def outcome_actions(callback_id: int) -> tuple[Action, ...]:
    return (
        Action(f"staff:joint:{callback_id}", "✅ Personne jointe"),
        Action(f"staff:injoignable:{callback_id}", "📵 Pas jointe"),
        Action(f"staff:oriente:{callback_id}", "➡️ Orientée ailleurs"),
    )


def instructions(platform: str, callback_id: int) -> str:
    """How to take it, for platforms without buttons."""
    if platform == "matrix":
        return (
            "Pour la prendre : répondez « je prends » à ce message, ou réagissez avec 👍. "
            "/ To take it: reply « je prends » or react with 👍."
        )
    return (
        f"Pour la prendre : aiguillage rappels --prendre {callback_id} --par « votre prénom ». "
        f"/ To take it: aiguillage rappels --prendre {callback_id}."
    )


def taken_text(callback_id: int, by: str, platform: str) -> str:
    text = f"✋ Demande n°{callback_id} prise par {by}. / Request #{callback_id} taken by {by}."
    if platform == "matrix":
        text += (
            "\nQuand c'est fait, répondez à ce message : « jointe », « pas jointe » ou "
            "« orientée vers … ». Pour écrire à la personne : « écrire : votre message ». "
            "/ When done, reply: jointe, pas jointe, orientée vers …; to write: « écrire : … »."
        )
    elif platform == "email":
        text += (
            f"\nQuand c'est fait : aiguillage rappels --resultat {callback_id} joint "
            "(ou injoignable, ou oriente --note « vers … »). Pour écrire à la personne : "
            f"aiguillage rappels --ecrire {callback_id} « votre message »."
        )
    else:
        text += (
            "\nPour écrire à la personne, répondez à ce message : « écrire : votre message ». "
            "/ To write to the person, reply « écrire : … »."
        )
    return text


def outcome_text(callback_id: int, outcome_label: str, by: str) -> str:
    return (
        f"Demande n°{callback_id} : {outcome_label} ({by}). Merci ! "
        f"/ Request #{callback_id}: outcome recorded."
    )


TAKE_REACTIONS = ("👍", "✋", "🙋", "✅", "🆗")
_TAKE_WORDS = re.compile(r"^\s*(je (la )?prends|je m'en (occupe|charge)|pris|prise|moi)\b", re.I)
_REACHED = re.compile(r"^\s*(jointe?|ok jointe?|appel(ée?)? fait)\b", re.I)
_NOT_REACHED = re.compile(r"^\s*(pas jointe?|injoignable|pas de réponse|non jointe?)\b", re.I)
_ORIENTED = re.compile(r"^\s*orient[ée]+e?s?\b\s*(.*)$", re.I | re.S)
_WRITE = re.compile(r"^\s*(?:écrire|ecrire|message)\s*:\s*(.+)$", re.I | re.S)


def staff_action(text: str) -> tuple[str | None, str | None]:
    """What a counsellor's reply (or reaction) to a request says: ("prendre", None),
    ("joint", None), ("injoignable", None), ("oriente", "vers …"), ("ecrire", "the message
    for the person") or (None, None)."""
    stripped = text.strip()
    written = _WRITE.match(stripped)
    if written:
        return "ecrire", written.group(1).strip()
    if stripped.startswith(TAKE_REACTIONS) or _TAKE_WORDS.match(stripped):
        return "prendre", None
    if _NOT_REACHED.match(stripped):
        return "injoignable", None
    if _REACHED.match(stripped):
        return "joint", None
    oriented = _ORIENTED.match(stripped)
    if oriented:
        return "oriente", oriented.group(1).strip() or None
    return None, None
