"""The loaded, checked knowledge base: an immutable value the dialogue reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.kb.models import (
    AskableFact,
    Category,
    Faq,
    Langage,
    LexiconEntry,
    Meta,
    National,
    Need,
    Rule,
    Service,
    StatutEntry,
    Structure,
    Zone,
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the knowledge base, located for an admin's editor."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base is invalid; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    source_dir: Path
    metas: dict[str, Meta]  # by département code
    national: National
    categories: dict[str, Category]
    needs: dict[str, Need]
    zones: dict[str, Zone]
    rules: dict[str, Rule]
    structures: dict[str, Structure]  # by id
    services: tuple[Service, ...]
    orienteurs: tuple[Structure, ...]
    faq: dict[str, Faq]
    lexique: tuple[LexiconEntry, ...]
    statuts: tuple[StatutEntry, ...]
    faits: tuple[AskableFact, ...] = ()  # the facts the bot may ask, in asking order
    langage: Langage = field(default_factory=Langage)
    warnings: tuple[Problem, ...] = field(default=())
