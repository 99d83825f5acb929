"""The sections of the knowledge base: where each may be written, what validates it, how the
`KnowledgeBase` holds it. Adding a section is one entry in `SECTIONS` (and its field on
`KnowledgeBase`, of the same name as its attribute)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal, NamedTuple

from pydantic import BaseModel, TypeAdapter

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
    ServiceSchema,
    StatutEntry,
    Structure,
    StructureSchema,
    Zone,
    record_from,
)

Kind = Literal["commun", "departement", "annexe"]
COMMUN: Final = frozenset({"commun"})
DEPARTEMENT: Final = frozenset({"departement"})
SHARED_OR_OWN: Final = frozenset({"commun", "departement"})
ANYWHERE: Final = frozenset({"commun", "departement", "annexe"})


# How the KnowledgeBase holds a section, in two steps so that a reload redoes only what changed:
# `gather` one file's items (and whether it is a département's file) into its part, then
# `merge` the files' parts, in file order. Each file's part is kept with the parsed file.


class Holding(NamedTuple):
    gather: Callable[[list[Any], bool], Any]
    merge: Callable[[list[Any]], Any]


def _first_by(attribute: str) -> Callable[[list[Any], bool], dict[str, Any]]:
    def gather(items: list[Any], local: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for item in items:
            result.setdefault(getattr(item, attribute), item)
        return result

    return gather


def _merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts' items, the first of an id winning (ids repeat only with equal records)."""
    result: dict[str, Any] = {}
    for part in parts:
        if result.keys() & part.keys():
            for key, item in part.items():
                result.setdefault(key, item)
        else:
            result.update(part)
    return result


def _items(items: list[Any], local: bool) -> list[Any]:
    return items


def _chained(parts: list[list[Any]]) -> tuple[Any, ...]:
    return tuple(item for part in parts for item in part)


def _national(parts: list[list[National]]) -> National:
    return next((item for part in parts for item in part), None) or National()


def _faq(items: list[Faq], local: bool) -> tuple[dict[str, Faq], dict[str, Faq]]:
    """(national, local): a département's FAQ with `portee: departement` replaces the other."""
    by_id = _first_by("id")
    overrides = [faq for faq in items if local and faq.portee == "departement"]
    national = [faq for faq in items if not (local and faq.portee == "departement")]
    return by_id(national, local), by_id(overrides, local)


def _faq_with_overrides(parts: list[tuple[dict[str, Faq], dict[str, Faq]]]) -> dict[str, Faq]:
    return {**_merged([n for n, _ in parts]), **_merged([o for _, o in parts])}


def _langage(parts: list[list[Langage]]) -> Langage:
    return next((item for part in parts for item in part), None) or Langage()


def _in_asking_order(parts: list[list[AskableFact]]) -> tuple[AskableFact, ...]:
    return tuple(sorted((item for part in parts for item in part), key=lambda f: f.ordre))


BY_ID: Final = Holding(_first_by("id"), _merged)
ONCE_EACH: Final = Holding(_first_by("id"), lambda parts: tuple(_merged(parts).values()))
METAS: Final = Holding(_first_by("departement"), _merged)
FIRST: Final = Holding(_items, _national)
ALL: Final = Holding(_items, _chained)
FAQ: Final = Holding(_faq, _faq_with_overrides)


_ADAPTERS: dict[str, TypeAdapter[list[Any]]] = {}


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # top-level YAML key
    attribute: str  # KnowledgeBase (and Sections) attribute
    model: type[BaseModel]  # what validates it
    holding: Holding  # how the KnowledgeBase holds it
    places: frozenset[str]  # kinds of files where it may be written
    record: type[Any] | None = None  # the read-only record the bot holds (None: the model)
    single: bool = False  # a single mapping (meta, national), not a list

    @property
    def held_type(self) -> type[Any]:
        return self.record or self.model

    def list_adapter(self) -> TypeAdapter[list[Any]]:
        """Validates a list of items at once (built when first needed: start-up from the cache
        never needs it)."""
        found = _ADAPTERS.get(self.key)
        if found is None:
            found = _ADAPTERS[self.key] = TypeAdapter(list[self.model])  # type: ignore[name-defined]
        return found

    def finish(self, item: BaseModel) -> Any:
        return record_from(item, self.record) if self.record is not None else item


def section(
    key: str,
    attribute: str,
    model: type[BaseModel],
    holding: Holding,
    places: frozenset[str],
    *,
    record: type[Any] | None = None,
    single: bool = False,
) -> Section:
    return Section(key, attribute, model, holding, places, record, single)


SECTIONS: Final = {
    s.key: s
    for s in (
        section("meta", "metas", Meta, METAS, DEPARTEMENT, single=True),
        section("national", "national", National, FIRST, COMMUN, single=True),
        section("categories", "categories", Category, BY_ID, COMMUN),
        section("besoins", "needs", Need, BY_ID, COMMUN),
        section("eligibility_rules", "rules", Rule, BY_ID, COMMUN),
        section("zones", "zones", Zone, BY_ID, ANYWHERE),
        section("structures", "structures", StructureSchema, BY_ID, ANYWHERE,
                 record=Structure),
        section("services", "services", ServiceSchema, ONCE_EACH, ANYWHERE, record=Service),
        section("orienteurs", "orienteurs", StructureSchema, ONCE_EACH, ANYWHERE,
                 record=Structure),
        section("faq", "faq", Faq, FAQ, SHARED_OR_OWN),
        section("lexique", "lexique", LexiconEntry, ALL, COMMUN),
        section("statuts", "statuts", StatutEntry, ALL, COMMUN),
        section("faits", "faits", AskableFact, Holding(_items, _in_asking_order), COMMUN),
        section("langage", "langage", Langage, Holding(_items, _langage), COMMUN, single=True),
        section("codes_conseillers", "codes_conseillers", CodeConseiller,
                Holding(_first_by("code"), _merged), DEPARTEMENT),
    )
}  # fmt: skip
HELD_TYPES: Final = MappingProxyType({key: spec.held_type for key, spec in SECTIONS.items()})
# Ids shared by the whole base: one id, one record, whatever the département.
ID_GROUPS: Final = {"structures": "lieu", "orienteurs": "lieu", "services": "service",
                     "zones": "zone"}  # fmt: skip
