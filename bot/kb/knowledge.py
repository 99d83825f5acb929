"""The loaded, checked knowledge base: an immutable value the dialogue reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.kb.models import (
    AskableFact,
    Category,
    CodeConseiller,
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
    """One thing wrong in the knowledge base, located for an admin's editor.

    `fix` is what to write instead, when it is obvious (`code_insee: "54329"`); it is shown
    after the message, and on its own in `aiguillage check --format json`.
    """

    file: str
    line: int
    column: int
    message: str
    fix: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.text}"

    @property
    def text(self) -> str:
        """The message, then the fix when there is one."""
        return f"{self.message} — {self.fix}" if self.fix else self.message


class KnowledgeError(Exception):
    """The knowledge base is invalid; `problems` lists every error found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Everything the bot knows. Items of a disabled département are left out entirely: its
    people get the shared answers (FAQ, national numbers, the referents' roles) and should be
    told kindly that local information is unavailable for now."""

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
    codes_conseillers: dict[str, CodeConseiller] = field(default_factory=dict)  # by code
    warnings: tuple[Problem, ...] = field(default=())
    # départements left out because their files have errors: code → those errors
    disabled: Mapping[str, tuple[Problem, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What loading (or reloading) the knowledge base found, for admins and their tools.

    `applied` is false when the shared files have errors: no base was built (at start-up the bot
    refuses to start; on reload the running bot keeps its last good base). Otherwise the base is
    in force, without the départements of `disabled`; on reload, the départements of `kept`
    have errors in their new files and keep serving their previous version. `errors` lists
    every error, those of `disabled` and `kept` included.
    """

    applied: bool
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    disabled: Mapping[str, tuple[Problem, ...]] = field(default_factory=dict)
    kept: Mapping[str, tuple[Problem, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Applied, with no error anywhere."""
        return self.applied and not self.errors

    def summary(self) -> str:
        """One line for admins, French first, then English."""
        if not self.applied:
            return (
                f"Base refusée : {_count(len(self.errors), 'erreur')} dans les fichiers communs "
                "ou ailleurs ; la version précédente reste en service. / Knowledge base refused "
                f"({len(self.errors)} error(s)); the previous version keeps serving."
            )
        parts = []
        if self.disabled:
            codes = ", ".join(sorted(self.disabled))
            parts.append(
                (
                    f"{_count(len(self.disabled), 'département')} désactivé(s) à cause "
                    f"d'erreurs : {codes}",
                    f"département(s) {codes} disabled by errors",
                )
            )
        if self.kept:
            codes = ", ".join(sorted(self.kept))
            parts.append(
                (
                    f"nouveaux fichiers refusés pour {codes} (erreurs) : leur version "
                    "précédente reste en service",
                    f"new files of {codes} refused (errors), their previous version serves",
                )
            )
        if parts:
            french = " ; ".join(f for f, _ in parts)
            english = "; ".join(e for _, e in parts)
            return (
                f"Base chargée, sauf : {french}. Les autres départements sont servis. / "
                f"Knowledge base loaded, except: {english}. The other départements serve."
            )
        if self.errors:
            return (
                f"Base chargée, avec {_count(len(self.errors), 'erreur')} dans des fichiers "
                f"ignorés. / Knowledge base loaded; {len(self.errors)} error(s) in ignored files."
            )
        return "Base chargée. / Knowledge base loaded."

    def for_admins(self, max_problems: int = 10) -> str:
        """A message for admins (chat or mail): the summary, then the first errors."""
        lines = [self.summary(), *(str(p) for p in self.errors[:max_problems])]
        hidden = len(self.errors) - max_problems
        if hidden > 0:
            lines.append(
                f"… et {_count(hidden, 'autre erreur')} : lancez « aiguillage check ». / … and "
                f"{hidden} more: run `aiguillage check`."
            )
        return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"
