"""The state of one conversation: what the person told us and where the dialogue stands.

Stored as JSON (never pickled), shown to the person by /mes_donnees, erased by /oubli. It holds
facts, never the words they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 2
_V1_NUMBERS = ("age", "sans_emploi_mois", "residence_depuis_mois")


@dataclass(slots=True)
class Facts:
    commune: str | None = None  # INSEE code
    statuts: list[str] = field(default_factory=list)
    statuts_connus: bool = False  # the person answered the situation question
    numbers: dict[str, int] = field(default_factory=dict)  # age, sans_emploi_mois, … by fact

    @property
    def age(self) -> int | None:
        return self.numbers.get("age")

    def known(self, fact: str) -> bool:
        if fact == "statuts":
            return self.statuts_connus or bool(self.statuts)
        if fact == "commune":
            return self.commune is not None
        return fact in self.numbers


@dataclass(slots=True)
class ConversationState:
    lang: str = "fr"
    greeted: bool = False
    facts: Facts = field(default_factory=Facts)
    need: str | None = None
    categories: list[str] = field(default_factory=list)  # categories the person named
    asking: str | None = None  # the question just asked (trace `asking` ids, "telephone")
    asked: list[str] = field(default_factory=list)  # questions already asked (never twice)
    questions: int = 0  # questions asked about the current need (commune excluded)
    results_shown: bool = False  # the current need has had a first useful answer
    choices: list[tuple[str, str]] = field(default_factory=list)  # (id, label) last offered
    pending_communes: list[str] = field(default_factory=list)  # "did you mean A or B?"
    pending_faq: list[str] = field(default_factory=list)
    referent_wanted: str | None = None  # "où est la mission locale ?" before the commune
    referral: str | None = None
    page: int = 0  # results already shown for the current need (for "voir d'autres")
    shown: list[str] = field(default_factory=list)  # ids of the structures last listed
    faq_seen: list[str] = field(default_factory=list)  # FAQ already explained
    followed_by: list[str] = field(default_factory=list)  # referent kinds the person has
    topic: list[str] = field(default_factory=list)  # categories of the last question asked
    callback_requested: bool = False

    def to_json(self) -> dict[str, Any]:
        facts = self.facts
        return {
            "v": STATE_VERSION,
            "lang": self.lang,
            "greeted": self.greeted,
            "facts": {
                "commune": facts.commune,
                "statuts": list(facts.statuts),
                "statuts_connus": facts.statuts_connus,
                "numbers": dict(facts.numbers),
            },
            "need": self.need,
            "categories": list(self.categories),
            "asking": self.asking,
            "asked": list(self.asked),
            "questions": self.questions,
            "results_shown": self.results_shown,
            "choices": [list(c) for c in self.choices],
            "pending_communes": list(self.pending_communes),
            "pending_faq": list(self.pending_faq),
            "referent_wanted": self.referent_wanted,
            "referral": self.referral,
            "page": self.page,
            "shown": list(self.shown),
            "faq_seen": list(self.faq_seen),
            "followed_by": list(self.followed_by),
            "topic": list(self.topic),
            "callback_requested": self.callback_requested,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConversationState:
        if not data:
            return cls()
        raw_facts = dict(data.get("facts") or {})
        numbers = dict(raw_facts.pop("numbers", {}) or {})
        for name in _V1_NUMBERS:  # version 1 kept numbers beside the other facts
            value = raw_facts.pop(name, None)
            if value is not None:
                numbers.setdefault(name, value)
        facts = Facts(
            commune=raw_facts.get("commune"),
            statuts=[str(s) for s in raw_facts.get("statuts", [])],
            statuts_connus=bool(raw_facts.get("statuts_connus", False)),
            numbers={str(k): int(v) for k, v in numbers.items() if isinstance(v, int)},
        )
        known = {name for name in cls.__slots__ if name != "facts"}
        values = {k: v for k, v in data.items() if k in known}
        values["choices"] = [(str(c[0]), str(c[1])) for c in data.get("choices", [])]
        return cls(facts=facts, **values)

    def set_need(self, need: str | None) -> None:
        """A new search: the need changes, what the person said about themselves is kept."""
        if need != self.need:
            self.page = 0
            self.categories = []
            self.questions = 0
            self.results_shown = False
            self.shown = []
        self.need = need

    def forget_need(self) -> None:
        self.set_need(None)
        self.asking = None
        self.pending_communes = []
        self.pending_faq = []
        self.referent_wanted = None
        self.choices = []

    def copy(self) -> ConversationState:
        """A copy that acts can change without touching this one."""
        facts = Facts(
            self.facts.commune,
            list(self.facts.statuts),
            self.facts.statuts_connus,
            dict(self.facts.numbers),
        )
        return ConversationState(
            lang=self.lang,
            greeted=self.greeted,
            facts=facts,
            need=self.need,
            categories=list(self.categories),
            asking=self.asking,
            asked=list(self.asked),
            questions=self.questions,
            results_shown=self.results_shown,
            choices=list(self.choices),
            pending_communes=list(self.pending_communes),
            pending_faq=list(self.pending_faq),
            referent_wanted=self.referent_wanted,
            referral=self.referral,
            page=self.page,
            shown=list(self.shown),
            faq_seen=list(self.faq_seen),
            followed_by=list(self.followed_by),
            topic=list(self.topic),
            callback_requested=self.callback_requested,
        )
