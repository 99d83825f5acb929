"""Safety first: an emergency gets the numbers to call, and nothing else gets in the way."""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.messages import Choice
from bot.store import UsageEvent
from bot.texts import t


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    if not frame.urgence:
        return None
    lang = state.lang
    numbers = list(services.kb.national.urgences)
    meta = services.orientation.meta_for(services.commune(state))
    if meta is not None:
        local = {u.numero for u in meta.urgences}
        numbers = list(meta.urgences) + [u for u in numbers if u.numero not in local]
    lines = [t(lang, "urgence")]
    for u in numbers:
        label = u.libelle_en if (lang == "en" and u.libelle_en) else u.libelle
        lines.append(f"☎ {u.numero} — {label}")
    lines.append(t(lang, "urgence_after"))
    choices = [Choice("human", t(lang, "human")), Choice("menu", t(lang, "other_need"))]
    usage = [UsageEvent(kind="urgence", need="urgence", departement=services.departement(state))]
    return Act(state.copy(), "\n".join(lines), choices, need="urgence", usage=usage, final=True)
