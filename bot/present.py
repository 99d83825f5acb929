"""How proposals, FAQ answers and personal data are written for a phone screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import Faq
from bot.messages import StructureCard
from bot.ranking import Proposal
from bot.rules import Verdict
from bot.texts import t


@dataclass(frozen=True, slots=True)
class Routed:
    """A proposal with its eligibility pre-screen and the referent to name."""

    proposal: Proposal
    verdict: Verdict | None
    referent: str | None  # name of the nearest referent who can orient there
    reasons: tuple[str, ...] = ()  # the person's situations that the rule counts ("RSA")


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


def proposal_text(kb: KnowledgeBase, routed: Routed, number: int, lang: str) -> str:
    place = routed.proposal.place
    structure, service = place.structure, place.service
    name = structure.nom
    example = structure.exemple or bool(service and service.exemple)
    flags = f" ({t(lang, 'example_flag')})" if example and "exemple" not in name.lower() else ""
    head = (
        f"{number}) {name}{flags} — {category_label(kb, place.categorie, lang)}, "
        f"{km(routed.proposal.distance_km, lang)}"
    )
    lines = [head]
    lines.append(f"   {access_text(kb, routed, lang)}")
    why = why_text(routed.verdict, lang, routed.reasons)
    if why:
        lines.append(f"   {t(lang, 'why')} : {why}" if lang == "fr" else f"   Why: {why}")
    contact = contact_text(routed)
    if contact:
        lines.append(f"   {contact}")
    return "\n".join(lines)


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


def why_text(verdict: Verdict | None, lang: str, reasons: tuple[str, ...] = ()) -> str:
    """One line: what counted, and the pre-screen's explanation (who decides is said once)."""
    if verdict is None:
        return ""
    said = ""
    if reasons and verdict.result == "eligible":
        said = t(lang, "you_said", what=", ".join(reasons)) + " "
    if verdict.explanation:
        return said + first_sentence(verdict.explanation)
    if verdict.result == "a_verifier":
        return said + t(lang, "to_check")
    return said.strip()


def deciders_text(verdicts: list[Verdict | None], lang: str) -> str:
    """ "Qui décide : …", once for each distinct decider of the structures shown."""
    seen = list(dict.fromkeys(v.decide_par.strip() for v in verdicts if v and v.decide_par))
    colon = " :" if lang == "fr" else ":"
    return "\n".join(f"{t(lang, 'who_decides')}{colon} {d}" for d in seen)


def first_sentence(text: str) -> str:
    text = text.strip()
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def contact_text(routed: Routed) -> str:
    place = routed.proposal.place
    service, structure = place.service, place.structure
    phone = (service.telephone if service else None) or structure.telephone
    address = (service.adresse if service else None) or structure.adresse
    commune = (service.commune if service else None) or structure.commune
    parts = []
    if address or commune:
        parts.append("📍 " + ", ".join(p for p in (address, commune) if p))
    if phone:
        parts.append(f"☎ {phone}")
    return " · ".join(parts)


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
    place = routed.proposal.place
    service, structure = place.service, place.structure
    return StructureCard(
        id=structure.id,
        nom=structure.nom,
        categorie=place.categorie,
        distance_km=routed.proposal.distance_km,
        adresse=(service.adresse if service else None) or structure.adresse,
        commune=(service.commune if service else None) or structure.commune,
        telephone=(service.telephone if service else None) or structure.telephone,
        site_web=structure.site_web,
        latitude=place.lat,
        longitude=place.lon,
        exemple=structure.exemple or bool(service and service.exemple),
    )


def faq_text(faq: Faq, lang: str) -> str:
    answer = faq.reponse_en if (lang == "en" and faq.reponse_en) else faq.reponse
    answer = answer.strip()
    if faq.non_verifie:
        answer += " (à vérifier)" if lang == "fr" else " (to be checked)"
    source = faq.liens[0].url if faq.liens else faq.sources[0]
    return f"{answer}\n{t(lang, 'faq_source')} : {source}"
