"""The frame: everything one incoming event carries, as understood. No decision is taken here.

`Reader.read` (bot/conversation/reader.py) builds a frame from a message; a button press, a
shared location or a deep link become frames too, so that the planner has one input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.places import Resolution

PlaceRole = Literal["home", "destination", "workplace", "search"]
Language = Literal["fr", "en", "ar"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact heard, with the words it came from (for tests and explanations, never stored)."""

    fact: str  # a rule fact: "age", "statuts", "sans_emploi_mois", …
    value: int | str
    words: str


@dataclass(frozen=True, slots=True)
class Scored:
    id: str
    score: float


@dataclass(frozen=True, slots=True)
class PlaceHeard:
    resolution: Resolution
    role: PlaceRole


@dataclass(frozen=True, slots=True)
class Frame:
    """What one event said. Empty fields mean "not said"."""

    raw: str = ""
    normalised: str = ""
    language: Language = "fr"
    truncated: bool = False
    # what kind of event
    command: str | None = None  # "start", "help", "restart", "my_data", "forget", "human"
    command_arg: str = ""
    choice: str | None = None  # a choice id the bot offered, validated
    start_payload: str | None = None  # a deep link or a typed referral code
    unsupported: str | None = None  # a photo, a voice message…
    # safety and scope
    urgence: bool = False
    out_of_scope: str | None = None
    # social
    greeting: bool = False
    thanks: bool = False
    yes: bool = False
    no: bool = False
    skip: bool = False
    asks_help: bool = False
    asks_human: bool = False
    asks_callback: bool = False  # asks to be called back (a kind of asks_human)
    asks_more: bool = False  # "voir d'autres", "d'autres ?"
    about_results: tuple[str, ...] = ()  # asked of the results shown: "adresse", "horaires"…
    result_number: int | None = None  # which of them: "le 2" (1-based)
    # facts, needs, questions
    facts: tuple[Evidence, ...] = ()
    needs: tuple[Scored, ...] = ()  # best first; only needs asked for, not context
    categories: tuple[str, ...] = ()  # structure categories asked for by name
    context_categories: tuple[str, ...] = ()  # named as the person's situation
    referents: tuple[str, ...] = ()  # referent kinds asked for ("la mission locale")
    context_referents: tuple[
        str, ...
    ] = ()  # who already follows the person ("mon conseiller de la…")
    wants_place: bool = False  # "où est", "adresse", "contacter"
    wish: bool = False  # a request phrase ("je cherche", "il existe", "where is")
    is_question: bool = False
    defines: bool = False  # a definition question: "c'est quoi ?", "qu'est-ce que …", "what is"
    faq: tuple[Scored, ...] = ()  # best first
    faq_each: tuple[Scored, ...] = ()  # several questions: the best FAQ of each, and of all
    faq_pick: str | None = None  # a FAQ chosen from "did you mean"
    need_pick: str | None = None  # a need chosen from the menu
    menu: bool = False  # "autre besoin"
    places: tuple[PlaceHeard, ...] = ()
    phone: str | None = None
    words: int = 0  # how many words the message had
    says_nothing: bool = False  # spaces, punctuation or emoji only

    @property
    def home(self) -> PlaceHeard | None:
        """Where the person lives or searches: a home first, else a place searched around.

        A destination or a workplace is the place only when nothing else is said ("monter ma
        boîte à Saint-Denis"); beside a home ("pour aller à Reims depuis Rethel") it is not.
        """
        found = [p for p in self.places if p.resolution.status != "not_found"]
        for role in ("home", "search"):
            for place in found:
                if place.role == role:
                    return place
        return found[0] if len(found) == 1 else None

    def said(self, fact: str) -> list[Evidence]:
        return [e for e in self.facts if e.fact == fact]

    @property
    def main_need(self) -> str | None:
        return self.needs[0].id if self.needs else None
