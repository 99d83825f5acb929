"""When no other act spoke: the menu, a welcome, "noted", or an honest "I did not understand".

A message the bot could not understand is logged (masked by the store) for admins.
"""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.questions import commune_question, hint_for, question
from bot.conversation.state import ConversationState
from bot.messages import Choice
from bot.store import Unanswered, UsageEvent
from bot.texts import t

SMALL_TALK_WORDS = 4


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    if turn.said:
        return None
    new = state.copy()
    lang = new.lang
    menu = services.menu(lang)
    if frame.unsupported is not None:
        return Act(new, t(lang, "unsupported"), [Choice(i, label) for i, label in state.choices])
    if frame.says_nothing or frame.menu:
        return Act(new, t(lang, "menu_prompt"), menu)
    small_talk = (frame.greeting or frame.thanks or frame.yes or frame.no) and (
        frame.words <= SMALL_TALK_WORDS
    )
    commune = services.commune(new)
    if new.need is None and (frame.home is not None or frame.facts) and commune is not None:
        new.asking = "besoin"
        noted = t(lang, "commune_noted", commune=commune.name)
        return Act(new, f"{noted} {t(lang, 'menu_prompt')}", menu)
    if small_talk or frame.asks_help or frame.greeting:
        return Act(new, t(lang, "welcome"), menu)
    if frame.facts and new.need is None:
        new.asking = "besoin"
        return Act(new, t(lang, "facts_noted") + " " + t(lang, "menu_prompt"), menu)
    again = _ask_again(new, services)
    if again is not None:
        return again
    best = frame.faq[0] if frame.faq else None
    unanswered = Unanswered(
        text=frame.raw[:500],
        best_match=best.id if best else None,
        score=best.score if best else None,
        departement=services.departement(new),
    )
    usage = [UsageEvent(kind="non_compris", departement=services.departement(new))]
    choices = [*menu, Choice("human", t(lang, "human"))]
    return Act(
        new,
        t(lang, "not_understood"),
        choices,
        need="information" if new.need is None else new.need,
        unanswered=[unanswered],
        usage=usage,
    )


def _ask_again(state: ConversationState, services: Services) -> Act | None:
    """Not an answer to the question just asked: say so kindly and ask it again."""
    lang = state.lang
    if state.asking in ("commune", "confirmation_commune"):
        text = t(lang, "commune_not_found") + "\n" + commune_question(lang)
        return Act(state, text, request_location=True, need=state.need)
    fact = services.orientation.facts_by_id.get(state.asking or "")
    if fact is None:
        return None
    text, choices = question(fact, state, services)
    key = hint_for(fact)
    return Act(state, f"{t(lang, key)}\n{text}" if key else text, choices, need=state.need)
