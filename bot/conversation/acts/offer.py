"""A second need heard in the same message: orient on the main one, offer this one."""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.messages import Choice
from bot.texts import t


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    if not turn.oriented or state.need is None or len(frame.needs) < 2:
        return None
    second = second_need(frame, state.need, services)
    if second is None:
        return None
    lang = state.lang
    label = services.need_label(second, lang)
    choice = Choice(f"need:{second}", label)
    return Act(state.copy(), t(lang, "second_need", besoin=label.lower()), [choice])


def second_need(frame: Frame, main: str, services: Services) -> str | None:
    """Another need heard, of another domain than the main one (a job and a car repair)."""
    domain = _domain(main, services)
    for scored in frame.needs:
        if scored.id != main and _domain(scored.id, services) != domain:
            return scored.id
    return None


def _domain(need_id: str, services: Services) -> str:
    need = services.kb.needs.get(need_id)
    families = {
        services.kb.categories[c].famille
        for c in (need.categories if need else [])
        if c in services.kb.categories
    }
    if families <= {"iae", "handicap", "territoire"}:
        return "emploi"
    return "mobilite" if "mobilite" in families else min(families, default=need_id)
