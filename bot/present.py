"""How proposals and FAQ answers are written for a phone screen.

A list of three structures fits about 700 characters: one line per structure, then what is
the same for all of them said once (how to get in, why, who decides). What differs is said
under the structure it concerns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import phonenumbers

from bot import hours
from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import Faq
from bot.messages import StructureCard
from bot.orientation import Routed, in_season
from bot.places import Commune, distance_km
from bot.ranking import Place
from bot.rules import Verdict
from bot.text import inside_a_sentence
from bot.texts import t


def km(distance: float | None, lang: str) -> str:
    if distance is None:
        return "à distance" if lang == "fr" else "remote"
    text = f"{distance:.1f}"
    return (text.replace(".", ",") if lang == "fr" else text) + " km"


def category_label(kb: KnowledgeBase, categorie: str, lang: str) -> str:
    cat = kb.categories.get(categorie)
    if cat is None:
        return categorie
    if lang == "en" and cat.libelle_en:
        return cat.libelle_en
    return cat.sigles[0] if cat.sigles else cat.libelle


def category_name(kb: KnowledgeBase, categorie: str, lang: str) -> str:
    """The full name of a category, for sentences ("Auto-école solidaire")."""
    cat = kb.categories.get(categorie)
    if cat is None:
        return categorie
    return cat.libelle_en if lang == "en" and cat.libelle_en else cat.libelle


def listing(
    kb: KnowledgeBase,
    routed: Sequence[Routed],
    start: int,
    lang: str,
    now: dt.datetime | None = None,
) -> str:
    """The structures, one line each (and a line of contact); what they share, once, after."""
    heads = [head_line(kb, r, start + i + 1, lang) for i, r in enumerate(routed)]
    per_item = [
        [contact_line(r.proposal.place, now, lang), access_text(kb, r, lang), why_line(r, lang)]
        for r in routed  # the same order for every item
    ]
    lines: list[str] = []
    shared: list[str] = []
    for column in (1, 2):
        values = [item[column] for item in per_item]
        if len(set(values)) == 1:
            if values[0]:
                shared.append(values[0])
            for item in per_item:
                item[column] = ""
    for head, item in zip(heads, per_item, strict=True):
        lines.append(head)
        lines += [f"   {text}" for text in item if text]
    lines += shared
    deciders = deciders_text([r.verdict for r in routed], lang)
    if deciders:
        lines.append(deciders)
    return "\n".join(lines)


def head_line(kb: KnowledgeBase, routed: Routed, number: int, lang: str) -> str:
    place = routed.proposal.place
    structure, service = place.structure, place.service
    name = structure.nom
    example = structure.exemple or bool(service and service.exemple)
    flag = f" ({t(lang, 'example_flag')})" if example and "exemple" not in name.lower() else ""
    where = (service.commune if service else None) or structure.commune
    distance = routed.proposal.distance_km
    if distance is not None and distance < 1 and where:
        tail = t(lang, "in_commune", commune=where)
    else:
        tail = (
            f"{km(distance, lang)}, {where}"
            if where and distance is not None
            else km(distance, lang)
        )
    return f"{number}. {name}{flag} — {category_label(kb, place.categorie, lang)}, {tail}"


def access_text(kb: KnowledgeBase, routed: Routed, lang: str) -> str:
    place = routed.proposal.place
    service = place.service
    cat = kb.categories.get(place.categorie)
    prescription = cat.acces_par_defaut.prescription if cat else "non"
    by_users = (
        "usagers" in service.mobilisable_par
        if service and service.mobilisable_par
        else (cat is None or "usagers" in cat.acces_par_defaut.mobilisable_par)
    )
    referent = f" ({routed.referent})" if routed.referent else ""
    if prescription == "obligatoire" or not by_users:
        return f"{t(lang, 'how_referent')}{referent}."
    if prescription == "conseillee":
        return f"{t(lang, 'how_direct_or_referent')}{referent}."
    return f"{t(lang, 'how_direct')}."


def why_line(routed: Routed, lang: str) -> str:
    why = why_text(routed.verdict, lang, routed.reasons)
    if not why:
        return ""
    return labelled(lang, "why", why[:1].upper() + why[1:])


def why_text(verdict: Verdict | None, lang: str, reasons: tuple[str, ...] = ()) -> str:
    """What counted, and the pre-screen's explanation (who decides is said once)."""
    if verdict is None:
        return ""
    said = ""
    if reasons and verdict.result == "eligible":
        said = t(lang, "you_said", what=", ".join(inside_a_sentence(r) for r in reasons)) + " "
    explanation = verdict.explanation_in(lang)
    if verdict.result == "eligible" and explanation:
        return said + first_sentence(explanation)
    if verdict.result == "a_verifier":
        return said + (first_sentence(explanation) if explanation else t(lang, "to_check"))
    return said.strip()


def deciders_text(verdicts: Sequence[Verdict | None], lang: str) -> str:
    """ "Qui décide : …", said once for each distinct decider of the structures shown."""
    seen = list(
        dict.fromkeys(
            first_sentence(v.decider_in(lang).strip()) for v in verdicts if v and v.decide_par
        )
    )
    return "\n".join(labelled(lang, "who_decides", d) for d in seen)


def labelled(lang: str, label: str, text: str) -> str:
    """ "Label : text" in French, "Label: text" in English (no space before the colon)."""
    return f"{t(lang, label)}{' :' if lang == 'fr' else ':'} {text}"


def first_sentence(text: str) -> str:
    text = text.strip()
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def refusal_text(
    kb: KnowledgeBase, categorie: str, verdict: Verdict, lang: str, said: str = ""
) -> str:
    """Kindly: what is probably not possible, what the person said, the rule, who decides."""
    lines = [t(lang, "not_eligible_intro", categorie=category_name(kb, categorie, lang))]
    if said:
        lines.append(t(lang, "you_told_me", what=said))
    if verdict.explanation:
        lines.append(verdict.explanation_in(lang))
    lines.append(deciders_text([verdict], lang))
    return "\n".join(line for line in lines if line)


def trace_entry(routed: Routed) -> dict[str, Any]:
    """A proposed structure as the JSON-lines trace shows it."""
    place = routed.proposal.place
    return {
        "id": place.structure.id,
        "nom": place.structure.nom,
        "categorie": place.categorie,
        "distance_km": routed.proposal.distance_km,
    }


def card(routed: Routed) -> StructureCard:
    """A structure for platforms that show places; a service "à distance" has no pin."""
    place = routed.proposal.place
    service, structure = place.service, place.structure
    pinned = not remote(place)
    return StructureCard(
        id=structure.id,
        nom=structure.nom,
        categorie=place.categorie,
        distance_km=routed.proposal.distance_km,
        adresse=(service.adresse if service else None) or structure.adresse,
        commune=(service.commune if service else None) or structure.commune,
        telephone=(service.telephone if service else None) or structure.telephone,
        site_web=structure.site_web,
        latitude=place.lat if pinned else None,
        longitude=place.lon if pinned else None,
        exemple=structure.exemple or bool(service and service.exemple),
    )


def faq_text(faq: Faq, lang: str, *, short: bool = False) -> str:
    """A FAQ answer with its source; `short`: the one or two sentences said before results."""
    if short and faq.reponse_courte:
        answer = (getattr(faq, "reponse_courte_en", None) if lang == "en" else None) or (
            faq.reponse_courte
        )
    else:
        answer = faq.reponse_en if (lang == "en" and faq.reponse_en) else faq.reponse
    answer = answer.strip()
    if faq.non_verifie:
        answer += " (à vérifier)" if lang == "fr" else " (to be checked)"
    source = faq.liens[0].url if faq.liens else faq.sources[0]
    return f"{answer}\n{labelled(lang, 'faq_source', source)}"


# --- what a person needs to act: contact, hours, season, how to get in -------------------------


def field(place: Place, name: str) -> Any:
    """A field of the service, else of its structure (address, phone, hours…)."""
    value = getattr(place.service, name, None) if place.service is not None else None
    return value if value not in (None, "", []) else getattr(place.structure, name, None)


@lru_cache(maxsize=4096)  # the phones of the structures shown, parsed once each
def phone_text(raw: str | None) -> str | None:
    """A phone number in the national format ("03 83 12 34 56"), or None if it is not one."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def season_text(place: Place, lang: str) -> str | None:
    periode = place.service.periode if place.service is not None else None
    if periode is None:
        return None
    if periode.mois:
        names = MONTHS[lang if lang in MONTHS else "fr"]
        first, last = names[min(periode.mois) - 1], names[max(periode.mois) - 1]
        return t(lang, "season_months", de=first, a=last)
    if periode.du and periode.au:
        return t(
            lang, "season_dates", du=periode.du.strftime("%d/%m"), au=periode.au.strftime("%d/%m")
        )
    return None


MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip


def remote(place: Place) -> bool:
    modes = place.service.modes_accueil if place.service is not None else []
    return place.remote or modes == ["a-distance"]


def contact_line(place: Place, now: dt.datetime | None, lang: str) -> str:
    """☎ and today's state, in one short line; out of season, when it runs."""
    parts: list[str] = []
    phone = phone_text(field(place, "telephone"))
    if phone:
        parts.append(f"☎ {phone}")
    if now is not None and not in_season(place, now.date()):
        season = season_text(place, lang)
        if season:
            parts.append(season)
    elif now is not None and field(place, "horaires_accueil"):
        state = hours.today_state(field(place, "horaires_accueil"), now, lang)
        if state:
            parts.append(state)
    return " · ".join(parts)


def address_text(place: Place) -> str | None:
    if remote(place):
        return None
    street = field(place, "adresse")
    postal = field(place, "code_postal")
    town = field(place, "commune")
    where = " ".join(p for p in (postal, town) if p)
    return ", ".join(p for p in (street, where) if p) or None


def how_to_get_in(kb: KnowledgeBase, routed: Routed, lang: str) -> list[str]:
    """How to get in, from `mobilisable_par`, `modes_mobilisation` and `lien_mobilisation`."""
    place = routed.proposal.place
    service = place.service
    lines = [access_text(kb, routed, lang)]
    if service is None:
        return lines
    modes = list(service.modes_mobilisation)
    email = field(place, "courriel")
    phone = phone_text(field(place, "telephone"))
    if "utiliser-lien-mobilisation" in modes and service.lien_mobilisation:
        lines.append(t(lang, "apply_online", lien=service.lien_mobilisation))
    if "telephoner" in modes and phone:
        lines.append(t(lang, "apply_phone", tel=phone))
    if "envoyer-un-courriel" in modes and email:
        lines.append(t(lang, "apply_email", courriel=email))
    if "se-presenter" in modes and not remote(place):
        lines.append(t(lang, "apply_in_person"))
    if service.mobilisation_precisions:
        lines.append(service.mobilisation_precisions)
    return lines


def cost_text(place: Place, lang: str) -> str | None:
    service = place.service
    if service is None or not (service.frais or service.frais_precisions):
        return None
    kind = {"gratuit": t(lang, "free"), "payant": t(lang, "paid")}.get(service.frais or "", "")
    return " — ".join(p for p in (kind, service.frais_precisions) if p)


def details_text(
    kb: KnowledgeBase,
    routed: Routed,
    number: int,
    commune: Commune | None,
    now: dt.datetime,
    lang: str,
) -> str:
    """Everything about one result, what is missing is simply not said."""
    place = routed.proposal.place
    structure, service = place.structure, place.service
    lines = [f"{number}. {structure.nom} — {category_name(kb, place.categorie, lang)}"]
    description = (service.description if service else None) or structure.description
    if description:
        lines.append(first_sentence(description))
    address = address_text(place)
    if address:
        far = distance_to(place, commune)
        near = far is None or far < 1  # in the person's own commune: no distance to say
        lines.append(f"📍 {address}" + ("" if near else f" ({km(far, lang)})"))
    elif remote(place):
        lines.append(t(lang, "remote_service"))
    phone = phone_text(field(place, "telephone"))
    if phone:
        lines.append(f"☎ {phone}")
    email = field(place, "courriel")
    if email:
        lines.append(f"✉ {email}")
    opening = field(place, "horaires_accueil")
    if not in_season(place, now.date()):
        season = season_text(place, lang)
        if season:
            lines.append(f"🗓 {season}")
    if opening:
        week = hours.week(opening, now, lang)
        state = hours.today_state(opening, now, lang)
        said = ". ".join(p[:1].upper() + p[1:] for p in (week, state) if p)
        if said:
            lines.append(f"🕘 {said}.")
    lines += [labelled(lang, "to_get_in", line) for line in how_to_get_in(kb, routed, lang)[:1]]
    lines += how_to_get_in(kb, routed, lang)[1:]
    if service is not None and service.conditions_acces:
        lines.append(labelled(lang, "conditions", service.conditions_acces))
    cost = cost_text(place, lang)
    if cost:
        lines.append(labelled(lang, "cost", cost))
    if structure.accessibilite_lieu:
        lines.append(labelled(lang, "accessibility", structure.accessibilite_lieu))
    if structure.site_web:
        lines.append(f"🌐 {structure.site_web}")
    if structure.exemple or (service is not None and service.exemple):
        lines.append(f"({t(lang, 'example_flag')})")
    return "\n".join(lines)


def distance_to(place: Place, commune: Commune | None) -> float | None:
    if commune is None or commune.lat is None or commune.lon is None:
        return None
    if place.lat is None or place.lon is None or remote(place):
        return None
    return round(distance_km(commune.lat, commune.lon, place.lat, place.lon), 1)
