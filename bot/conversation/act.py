"""What an act returns, and what every act may read.

An act is a small handler (one module in bot/conversation/acts/) that looks at the frame and
the state and returns an `Act`: what to say, what to offer, what to record, and the new state.
Acts never call each other; the planner composes them in a fixed order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.config import DialogueSettings
from bot.conversation.reader import Reader
from bot.conversation.state import ConversationState
from bot.kb.knowledge import KnowledgeBase
from bot.kb.vocab import ROUTABLE_NEEDS
from bot.messages import Choice, StructureCard
from bot.orientation import Orientation
from bot.places import Commune, Gazetteer
from bot.staff.directory import StaffDirectory
from bot.store import CallbackRequest, Unanswered, UsageEvent
from bot.texts import t


@dataclass(frozen=True, slots=True)
class Services:
    """Everything acts read besides the frame and the state; built once per knowledge base."""

    kb: KnowledgeBase
    gazetteer: Gazetteer
    reader: Reader
    orientation: Orientation
    settings: DialogueSettings
    clock: Callable[[], dt.datetime]  # local time, for opening hours and seasons
    staff: StaffDirectory = field(default_factory=StaffDirectory)  # counsellor codes, channels

    def commune(self, state: ConversationState) -> Commune | None:
        insee = state.facts.commune
        return self.gazetteer.get(insee) if insee else None

    def departement(self, state: ConversationState) -> str:
        commune = self.commune(state)
        return commune.dept if commune is not None else self.orientation.home

    def menu(self, lang: str) -> tuple[Choice, ...]:
        return tuple(
            Choice(f"need:{n.id}", n.libelle_en if lang == "en" else n.libelle)
            for n in self.kb.needs.values()
            if n.id in ROUTABLE_NEEDS
        )

    def need_label(self, need_id: str, lang: str) -> str:
        need = self.kb.needs.get(need_id)
        if need is None:
            return need_id
        return need.libelle_en if lang == "en" else need.libelle

    def faq_question(self, faq_id: str, lang: str) -> str:
        faq = self.kb.faq[faq_id]
        return faq.question_en if (lang == "en" and faq.question_en) else faq.question

    def human_choices(self, lang: str) -> list[Choice]:
        return [Choice("menu", t(lang, "other_need")), Choice("human", t(lang, "human"))]


@dataclass(slots=True)
class Act:
    """One act's contribution to the turn."""

    state: ConversationState
    text: str = ""  # one message (empty: this act says nothing)
    choices: Sequence[Choice] = ()
    before: str = ""  # a message said just before it (a short explanation)
    structures: Sequence[StructureCard] = ()
    venue: bool = False  # the one structure is shown as a place where the platform can
    request_location: bool = False
    need: str | None = None  # for the trace
    faq: list[str] = field(default_factory=list)
    trace_structures: list[dict[str, Any]] = field(default_factory=list)
    eligibility: dict[str, str] = field(default_factory=dict)
    usage: list[UsageEvent] = field(default_factory=list)
    unanswered: list[Unanswered] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)
    erase: bool = False
    show_personal_data: bool = False
    final: bool = False  # the acts after this one do not run (a command, an emergency)


@dataclass(frozen=True, slots=True)
class TurnInfo:
    """What the planner knows of this turn so far, for the acts that depend on it."""

    information_only: bool = False  # a question about something, not a request
    moves_orientation: bool = False  # a need, a place or an answer the orientation can use
    settled: str | None = None  # the question the person just answered
    facts_only: bool = False  # new facts about the person, and no request
    answered: bool = False  # an earlier act answered a question (FAQ, referent, scope)
    oriented: bool = False  # the orientation act asked, showed or explained something
    said: bool = False  # an earlier act said anything at all
