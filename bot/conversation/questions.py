"""How a question is worded and which buttons come with it (facts: knowledge/commun/faits.yaml)."""

from __future__ import annotations

from bot.conversation.act import Services
from bot.conversation.state import ConversationState
from bot.kb.models import AskableFact
from bot.messages import Choice
from bot.texts import t


def question(
    fact: AskableFact, state: ConversationState, services: Services
) -> tuple[str, list[Choice]]:
    lang = state.lang
    en = lang == "en"
    if fact.type == "statuts" and state.need == "emploi_handicap" and fact.question_handicap:
        text = (fact.question_handicap_en if en else None) or fact.question_handicap
        yes_no = [Choice("sit:RQTH", t(lang, "yes")), Choice("sit:none", t(lang, "no"))]
        return text, [*yes_no, Choice("skip", t(lang, "skip"))]
    text = fact.question_en if en else fact.question
    if fact.type != "statuts":
        return text, []
    choices = [Choice(f"sit:{s}", services.orientation.statut_label(s, lang)) for s in fact.choix]
    choices += [
        Choice("sit:none", t(lang, "none_of_these_situations")),
        Choice("skip", t(lang, "skip")),
    ]
    return text, choices


def commune_question(lang: str) -> str:
    return t(lang, "ask_commune") + " " + t(lang, "ask_commune_location")


HINTS = {"age": "age_not_understood", "duree_mois": "duration_not_understood"}


def hint_for(fact: AskableFact) -> str | None:
    """The text key of "I did not understand" for this kind of answer, if there is one."""
    return HINTS.get(fact.analyseur)
