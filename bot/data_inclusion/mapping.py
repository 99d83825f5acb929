"""The mapping of data·inclusion v1 records onto Aiguillage categories, from the knowledge base.

The rules live in `knowledge/data_inclusion/correspondances.yaml` (admins edit them); this module
only reads them, checks them against the v1 enumerations and our vocabularies, and applies them.
Rules are tried in file order and the first whose conditions all hold wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Final, Self

from pydantic import AfterValidator, Field, ValidationError, model_validator

from bot.kb import vocab
from bot.kb.knowledge import KnowledgeError, Problem
from bot.kb.models import (
    ReferentCategoryId,
    ReseauPorteur,
    Slug,
    Strict,
    StructureCategoryId,
    TypeService,
    one_of,
)
from bot.kb.yamlpos import load_yaml
from bot.text import fold

MAPPING_FILE: Final = Path("data_inclusion") / "correspondances.yaml"

_THEMATIQUE_FAMILIES: Final = frozenset(t.split("--", 1)[0] for t in vocab.DI_THEMATIQUES)
ThematiqueOrFamily = Annotated[
    str, one_of("thématique", vocab.DI_THEMATIQUES | _THEMATIQUE_FAMILIES)
]


def _words(phrase: str) -> str:
    folded = fold(phrase)
    if not folded:
        raise ValueError(f"« {phrase} » : aucun mot à chercher")
    return folded


Phrase = Annotated[str, AfterValidator(_words)]


class StructureConditions(Strict):
    """Conditions on a structure (all given must hold; any value of a list suffices)."""

    reseaux_porteurs: list[ReseauPorteur] = Field(default_factory=list)
    sources: list[Slug] = Field(default_factory=list)
    nom_contient: list[Phrase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not any(getattr(self, name) for name in type(self).model_fields):
            raise ValueError("une règle sans condition prendrait toutes les fiches")
        return self


class ServiceConditions(StructureConditions):
    """Conditions on a service and its structure."""

    thematiques: list[ThematiqueOrFamily] = Field(default_factory=list)
    types: list[TypeService] = Field(default_factory=list)


class ReferentRule(Strict):
    si: StructureConditions
    categorie: ReferentCategoryId


class ServiceRule(Strict):
    si: ServiceConditions
    categorie: StructureCategoryId


class MappingFile(Strict):
    orienteurs: list[ReferentRule] = Field(default_factory=list)
    services: list[ServiceRule] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class StructureFacts:
    """What the rules look at on a structure."""

    source: str
    nom: str
    reseaux_porteurs: frozenset[str]


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What the rules look at on a service (and its structure)."""

    structure: StructureFacts
    nom: str
    thematiques: frozenset[str]
    type: str | None


class Mapping:
    """Applies the rules: a structure's referent category, a service's category."""

    def __init__(self, rules: MappingFile) -> None:
        self.rules = rules

    def referent_category(self, structure: StructureFacts) -> str | None:
        for rule in self.rules.orienteurs:
            if _structure_matches(rule.si, structure) and _names_match(
                rule.si, lambda: _structure_name(structure.nom)
            ):
                return rule.categorie
        return None

    def service_category(self, service: ServiceFacts) -> str | None:
        families = frozenset(t.split("--", 1)[0] for t in service.thematiques)
        names: list[str] = []

        def both_names() -> str:  # folded only if a rule looks at names
            if not names:
                names.append(_padded(service.nom) + _structure_name(service.structure.nom))
            return names[0]

        for rule in self.rules.services:
            conditions = rule.si
            if not _structure_matches(conditions, service.structure):
                continue
            if conditions.thematiques and not any(
                t in service.thematiques or t in families for t in conditions.thematiques
            ):
                continue
            if conditions.types and service.type not in conditions.types:
                continue
            if _names_match(conditions, both_names):
                return rule.categorie
        return None


def _padded(name: str) -> str:
    return f" {fold(name)} "


_structure_name = lru_cache(maxsize=65536)(_padded)  # a structure's name, for each of its services


def _structure_matches(conditions: StructureConditions, facts: StructureFacts) -> bool:
    if conditions.reseaux_porteurs and facts.reseaux_porteurs.isdisjoint(
        conditions.reseaux_porteurs
    ):
        return False
    return not conditions.sources or facts.source in conditions.sources


def _names_match(conditions: StructureConditions, names: Callable[[], str]) -> bool:
    if not conditions.nom_contient:
        return True
    folded = names()
    return any(f" {phrase} " in folded for phrase in conditions.nom_contient)


def load_mapping(path: Path, shown_as: str | None = None) -> Mapping:
    """Read and check the mapping file; raise KnowledgeError with `file:line:col` problems."""
    name = shown_as or path.as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KnowledgeError([Problem(name, 1, 1, f"fichier illisible : {error}")]) from error
    doc, problems = load_yaml(text, name)
    if doc is None or problems:
        raise KnowledgeError(problems)
    if not isinstance(doc.data, dict):
        raise KnowledgeError([doc.problem((), "le fichier doit être un dictionnaire de sections")])
    try:
        return Mapping(MappingFile.model_validate(doc.data))
    except ValidationError as error:
        raise KnowledgeError(
            [
                doc.problem(tuple(e["loc"]), _message(e["loc"], e["msg"], e["type"]))
                for e in error.errors(include_url=False)
            ]
        ) from error


def _message(loc: Iterable[object], msg: str, kind: str) -> str:
    field = next((str(x) for x in reversed(list(loc)) if isinstance(x, str)), "")
    if kind == "extra_forbidden":
        return f"champ inconnu « {field} »"
    if kind == "missing":
        return f"champ obligatoire manquant : {field}"
    text = msg.removeprefix("Value error, ")
    return text if kind == "value_error" or not field else f"« {field} » : {text}"
