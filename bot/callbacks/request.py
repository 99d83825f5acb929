"""What a call-back request carries for the counsellor, gathered by the dialogue when the
person gives how to reach them: labels in French (the counsellors' language), no internal ids."""

from __future__ import annotations

import json
from typing import Any

from bot.conversation.act import Services
from bot.conversation.state import ConversationState

LANGUAGES = {"fr": "français", "en": "anglais"}
MAX_STRUCTURES = 5


def details_for_counsellor(state: ConversationState, services: Services) -> str:
    """JSON of the facts the counsellor reads: need, commune, situation, structures proposed."""
    facts = state.facts
    commune = services.commune(state)
    orientation = services.orientation
    details: dict[str, Any] = {
        "besoin": services.need_label(state.need, "fr") if state.need else None,
        "commune": f"{commune.name} ({commune.dept})" if commune else None,
        "situation": [orientation.statut_label(s, "fr") for s in facts.statuts],
        "age": facts.age,
        "sans_emploi_mois": facts.numbers.get("sans_emploi_mois"),
        "structures": structure_names(state.shown, services)[:MAX_STRUCTURES],
        "langue": LANGUAGES.get(state.lang, state.lang),
    }
    return json.dumps({k: v for k, v in details.items() if v}, ensure_ascii=False)


def structure_names(keys: list[str], services: Services) -> list[str]:
    """The names of the structures last shown (state keys: a service id or `structure|cat`)."""
    kb = services.kb
    services_by_id = {s.id: s for s in kb.services if s.id in keys} if keys else {}
    names: list[str] = []
    for key in keys:
        structure_id = key.split("|", 1)[0]
        service = services_by_id.get(key)
        if service is not None:
            structure_id = service.structure_id
        structure = kb.structures.get(structure_id)
        if structure is not None and structure.nom not in names:
            names.append(structure.nom)
    return names
