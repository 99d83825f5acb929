"""The platform-independent messages that cross the adapter boundary.

An adapter turns a platform event into one `Incoming`, hands it to the dispatcher and renders the
`Turn` it gets back. No platform object ever crosses into `bot/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a person did: wrote text, pressed a choice, shared a location or opened a link.

    `conversation` is stable per person and platform (a Telegram chat id, a Matrix room + user);
    the store never keeps it in clear. `event_id` is unique per platform and is what makes a
    re-delivered event recognisable.
    """

    platform: str
    conversation: str
    event_id: str
    text: str | None = None
    choice: str | None = None
    location: Location | None = None
    start: str | None = None
    unsupported: str | None = None  # "photo", "voice", "sticker"… when the event has no text
    language: str | None = None  # a hint from the platform (Telegram language_code), may be None
    truncated: bool = False  # the text was cut at the adapter boundary: only its beginning is here

    @property
    def kind(self) -> Literal["text", "choice", "location", "start", "unsupported"]:
        if self.choice is not None:
            return "choice"
        if self.location is not None:
            return "location"
        if self.start is not None:
            return "start"
        if self.unsupported is not None:
            return "unsupported"
        return "text"


@dataclass(frozen=True, slots=True)
class Choice:
    """A button (Telegram) or a numbered line (Matrix, console). `id` is at most 64 bytes."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class StructureCard:
    """A structure proposed to the person, for platforms that can show a venue or a map."""

    id: str
    nom: str
    categorie: str
    distance_km: float | None
    adresse: str | None = None
    commune: str | None = None
    telephone: str | None = None
    site_web: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    exemple: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the person. `text` is plain text: adapters escape it for their platform."""

    text: str
    choices: tuple[Choice, ...] = ()
    structures: tuple[StructureCard, ...] = ()
    request_location: bool = False
    # The reply is about its one structure: platforms that can show a place show it as one
    # (a Telegram venue, a Matrix `m.location` with its `geo:` URI). Not in the JSON-lines view.
    venue: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        if self.choices:
            out["choices"] = [{"id": c.id, "label": c.label} for c in self.choices]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        choices = tuple(Choice(c["id"], c["label"]) for c in data.get("choices", ()))
        structures = tuple(StructureCard(**s) for s in data.get("structures", ()))
        return cls(
            text=data["text"],
            choices=choices,
            structures=structures,
            request_location=bool(data.get("request_location", False)),
            venue=bool(data.get("venue", False)),
        )

    def to_storage(self) -> dict[str, Any]:
        out = self.to_json()
        if self.structures:
            out["structures"] = [_card_dict(s) for s in self.structures]
        if self.request_location:
            out["request_location"] = True
        if self.venue:
            out["venue"] = True
        return out

    @property
    def place(self) -> StructureCard | None:
        """The structure to show as a place (`venue`), when it has coordinates."""
        if not self.venue or len(self.structures) != 1:
            return None
        card = self.structures[0]
        return card if card.latitude is not None and card.longitude is not None else None


def _card_dict(card: StructureCard) -> dict[str, Any]:
    return {name: getattr(card, name) for name in StructureCard.__slots__}


@dataclass(slots=True)
class Trace:
    """What the bot understood and decided in one turn: for tests, admins and JSON-lines mode.

    Beneficiaries never see it.
    """

    need: str | None = None
    asking: str | None = None
    faq: list[str] = field(default_factory=list)
    structures: list[dict[str, Any]] = field(default_factory=list)
    eligibility: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "need": self.need,
            "asking": self.asking,
            "faq": list(self.faq),
            "structures": list(self.structures),
            "eligibility": dict(self.eligibility),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        return cls(
            need=data.get("need"),
            asking=data.get("asking"),
            faq=list(data.get("faq", [])),
            structures=list(data.get("structures", [])),
            eligibility=dict(data.get("eligibility", {})),
        )


@dataclass(slots=True)
class Turn:
    """Everything one incoming event produced."""

    replies: list[Reply]
    trace: Trace = field(default_factory=Trace)

    def to_storage(self) -> dict[str, Any]:
        return {
            "replies": [r.to_storage() for r in self.replies],
            "trace": self.trace.to_json(),
        }

    @classmethod
    def from_storage(cls, data: dict[str, Any]) -> Turn:
        return cls(
            replies=[Reply.from_json(r) for r in data["replies"]],
            trace=Trace.from_json(data.get("trace", {})),
        )
