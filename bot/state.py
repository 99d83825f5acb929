"""The state of one conversation: what the person told us and where the dialogue stands.

Stored as JSON (never pickled), shown to the person by /mes_donnees, erased by /oubli.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATE_VERSION = 1


@dataclass(slots=True)
class Facts:
    commune: str | None = None  # INSEE code
    age: int | None = None
    statuts: list[str] = field(default_factory=list)
    statuts_connus: bool = False  # the person answered the situation question
    sans_emploi_mois: int | None = None
    residence_depuis_mois: int | None = None


@dataclass(slots=True)
class ConversationState:
    lang: str = "fr"
    greeted: bool = False
    facts: Facts = field(default_factory=Facts)
    need: str | None = None
    categories: list[str] = field(default_factory=list)  # categories the person named
    asking: str | None = None
    asked: list[str] = field(default_factory=list)  # facts already asked (never asked twice)
    choices: list[tuple[str, str]] = field(default_factory=list)  # (id, label) last offered
    pending_communes: list[str] = field(default_factory=list)  # "did you mean A or B?"
    pending_faq: list[str] = field(default_factory=list)
    referent_wanted: str | None = None  # "où est la mission locale ?" before the commune is known
    referral: str | None = None
    page: int = 0  # results already shown for the current need (for "voir plus")
    callback_requested: bool = False
    last_faq: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["v"] = STATE_VERSION
        data["choices"] = [list(c) for c in self.choices]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConversationState:
        if not data:
            return cls()
        facts = Facts(**data.get("facts", {}))
        known = {name for name in cls.__slots__ if name != "facts"}
        values = {k: v for k, v in data.items() if k in known}
        values["choices"] = [(str(c[0]), str(c[1])) for c in data.get("choices", [])]
        return cls(facts=facts, **values)

    def forget_need(self) -> None:
        """Start a new search, keeping what the person told about themselves."""
        self.need = None
        self.categories = []
        self.asking = None
        self.page = 0
        self.pending_communes = []
        self.pending_faq = []
        self.referent_wanted = None
        self.choices = []
