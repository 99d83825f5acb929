"""Cross-reference checks of a knowledge base whose items each passed their pydantic model.

The shared files (`commun/`) are checked alone; each département is checked with the shared
items as context, never with another département's, so that one département's mistakes never
show up in (or block) another. Every problem is located (file, line, column) through the item's
YAML document, and suggests the closest existing id when a reference is probably a typo.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Protocol, TypeVar

from bot.kb import vocab
from bot.kb.address_checks import AddressBook, check_address
from bot.kb.contact_checks import check_hours, phone_problem, region_of, url_problem
from bot.kb.knowledge import Problem
from bot.kb.models import (
    Category,
    Faq,
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
from bot.kb.trusted_sources import TrustedDomains
from bot.kb.yamlpos import YamlDocument
from bot.rules import CommuneLike
from bot.text import COMMON_WORDS, did_you_mean, fold

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Path = tuple[str | int, ...]

DEPARTEMENTS: Final = frozenset(
    [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
)
REGIONS: Final = frozenset(
    ["01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76",
     "84", "93", "94"]
)  # fmt: skip
_SIREN = re.compile(r"^\d{9}$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_STALE_DAYS = {"1m": 31, "3m": 92, "6m": 183, "12m": 366}
_DEFAULT_STALE_DAYS = 366


class GazetteerLike(Protocol):
    """What the checks and the rules need from `bot.places.Gazetteer`.

    `communes_of_epci(siren)` is used when the gazetteer has it.
    """

    def __contains__(self, insee: object, /) -> bool: ...
    def get(self, insee: str, /) -> CommuneLike | None: ...


@dataclass(slots=True)
class Located(Generic[T_co]):
    """A validated item and where it was written: in `doc`, under the section `key`, at
    `position` in its list (None: the section is the item).

    One is made for every record at each reload: not frozen (a frozen dataclass takes three
    times as long to make; it is never changed), and its path made only when asked for (a
    tuple less for each record, 2 MB at national scale)."""

    item: T_co
    doc: YamlDocument
    key: str
    position: int | None

    @property
    def path(self) -> Path:
        return (self.key,) if self.position is None else (self.key, self.position)

    def problem(
        self,
        message: str,
        *sub: str | int,
        key: bool = False,
        fix: str | None = None,
        offset: int | None = None,
    ) -> Problem:
        return self.doc.problem((*self.path, *sub), message, key=key, fix=fix, offset=offset)

    @property
    def in_departement_file(self) -> bool:
        return "/departements/" in f"/{self.doc.file}"


@dataclass(slots=True)
class Sections:
    """Every validated item of one part of the knowledge base (the shared files, or one
    département), in file order, by `KnowledgeBase` attribute name."""

    lists: dict[str, list[Located[Any]]] = field(default_factory=dict)
    # where each section key was first seen, for problems about a whole section
    anchors: dict[str, tuple[YamlDocument, str]] = field(default_factory=dict)
    shared_dir: str = "commun"  # as shown in problems, e.g. "knowledge/commun"

    def of(self, attribute: str) -> list[Located[Any]]:
        return self.lists.setdefault(attribute, [])

    @property
    def metas(self) -> list[Located[Meta]]:
        return self.of("metas")

    @property
    def national(self) -> list[Located[National]]:
        return self.of("national")

    @property
    def categories(self) -> list[Located[Category]]:
        return self.of("categories")

    @property
    def needs(self) -> list[Located[Need]]:
        return self.of("needs")

    @property
    def rules(self) -> list[Located[Rule]]:
        return self.of("rules")

    @property
    def zones(self) -> list[Located[Zone]]:
        return self.of("zones")

    @property
    def structures(self) -> list[Located[Structure]]:
        return self.of("structures")

    @property
    def services(self) -> list[Located[Service]]:
        return self.of("services")

    @property
    def orienteurs(self) -> list[Located[Structure]]:
        return self.of("orienteurs")

    @property
    def faq(self) -> list[Located[Faq]]:
        return self.of("faq")

    @property
    def lexique(self) -> list[Located[LexiconEntry]]:
        return self.of("lexique")

    @property
    def statuts(self) -> list[Located[StatutEntry]]:
        return self.of("statuts")


_EMPTY: Final = Sections()


@dataclass(slots=True)
class Report:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # ids of items that failed validation (already reported): references to them are not errors
    invalid_ids: set[str] = field(default_factory=set)
    # the records whose record checks found nothing: `id()` → what they depended on (a
    # service's structure, else None), and the context they ran under (see `RecordMemo`)
    records_passed: dict[int, object] = field(default_factory=dict)
    record_context: tuple[object, ...] = ()


RecordMemo = Sequence[tuple[tuple[object, ...] | None, Mapping[int, object]]]
"""What the record checks of a part found nothing about at their last run, file by file: the
context they ran under, and `id(record)` → what the record depended on.

The record checks (of structures, referents and services: commune and zones, categories, the
service's structure and rule, address, phone, web addresses, hours, freshness, example flag)
read the record, its file, the service's structure and a context only: the day, the mode, the
gazetteer, the zones' ids, the rule objects, the ids that failed validation. So a record that
is the same object as then (a reload keeps unchanged records), under the same context, with the
same structure, is not checked again. Objects, not ids, are kept and compared (an id could be
reused by a new object once the old one is freed): the records are held by their file.
"""


def suggestion(value: str, candidates: Iterable[str]) -> str:
    """ " — vouliez-vous dire « x » ?" when a candidate is close to `value`, else ""."""
    hint = did_you_mean(value, candidates)
    return f" — vouliez-vous dire « {hint} » ?" if hint else ""


# --- entry point --------------------------------------------------------------------------------


def check_all(
    sections: Sections,
    gazetteer: GazetteerLike,
    today: dt.date,
    report: Report,
    *,
    shared: Sections | None = None,
    production: bool = False,
    memo: RecordMemo | None = None,
) -> None:
    """Run every cross-reference and content check of `sections`, appending to `report`.

    Without `shared`, `sections` are the shared files; with it, one département, whose
    references may point to its own items and to the shared ones (only its problems are
    reported). With `production`, records still flagged as examples are errors.
    `memo`: what the record checks found nothing about before (`RecordMemo`); what they find
    nothing about now is in `report.records_passed` and `report.record_context`.
    """
    context = shared or _EMPTY
    ids = _Ids(context, sections)
    _check_duplicates(context, sections, report)
    _check_metas(sections, report)
    _check_categories(sections, ids, report)
    _check_needs_and_rules(sections, ids, report)
    _check_zones(sections, gazetteer, report)
    _check_records(sections, ids, gazetteer, today, production, report, memo)
    _check_other_contacts(sections, report)
    if shared is None:
        _check_vocabulary(sections, ids, report)
        _check_lexicon(sections, report)
    _check_freshness(sections.faq, today, report)
    _check_expiry(sections.faq, today, report)
    _check_faq_sources(sections, report, shared)


def passed_records(
    sections: Sections,
    gazetteer: GazetteerLike,
    today: dt.date,
    invalid_ids: set[str],
    *,
    shared: Sections | None = None,
    production: bool = False,
) -> tuple[tuple[object, ...], dict[int, object]]:
    """The context and the records of a part whose checks are known to have found nothing at
    all (from the cache): what `check_all` would leave in `report.records_passed`."""
    ids = _Ids(shared or _EMPTY, sections)
    context = _record_context(ids, gazetteer, today, production, invalid_ids)
    return context, {id(entry.item): depends for entry, _, _, depends in _records(sections, ids)}


def _record_context(
    ids: _Ids, gazetteer: GazetteerLike, today: dt.date, production: bool, invalid: set[str]
) -> tuple[object, ...]:
    return (today, production, gazetteer, ids.zones, tuple(ids.rules.values()), frozenset(invalid))


def _same_context(before: tuple[object, ...] | None, now: tuple[object, ...]) -> bool:
    if before is None or len(before) != len(now):
        return False
    today, production, gazetteer, zones, rules, invalid = before
    today_now, production_now, gazetteer_now, zones_now, rules_now, invalid_now = now
    assert isinstance(rules, tuple) and isinstance(rules_now, tuple)
    return (
        (today, production, zones, invalid) == (today_now, production_now, zones_now, invalid_now)
        and gazetteer is gazetteer_now
        and len(rules) == len(rules_now)
        and all(a is b for a, b in zip(rules, rules_now, strict=True))
    )


@dataclass(slots=True)
class _Ids:
    categories: frozenset[str]
    needs: frozenset[str]
    rules: dict[str, Rule]
    zones: frozenset[str]
    faq: frozenset[str]
    structures: dict[str, Structure]

    def __init__(self, *parts: Sections) -> None:
        self.categories = frozenset(e.item.id for p in parts for e in p.categories)
        self.needs = frozenset(e.item.id for p in parts for e in p.needs)
        self.rules = {e.item.id: e.item for p in reversed(parts) for e in reversed(p.rules)}
        self.zones = frozenset(e.item.id for p in parts for e in p.zones)
        self.faq = frozenset(e.item.id for p in parts for e in p.faq)
        both = [e for p in parts for e in (*p.structures, *p.orienteurs)]
        self.structures = {e.item.id: e.item for e in reversed(both)}


def _reference(
    entry: Located[object],
    report: Report,
    what: str,
    value: str,
    known: Iterable[str],
    *path: str | int,
) -> None:
    if value in report.invalid_ids:
        return
    message = f"{what} inconnue « {value} »{suggestion(value, known)}"
    report.errors.append(entry.problem(message, *path))


def _check_list(
    entry: Located[object],
    report: Report,
    what: str,
    values: Sequence[str],
    known: Iterable[str],
    name: str,
) -> None:
    pool = known if isinstance(known, (set, frozenset, dict)) else frozenset(known)
    for i, value in enumerate(values):
        if value not in pool:
            _reference(entry, report, what, value, pool, name, i)


# --- duplicates ---------------------------------------------------------------------------------


def _check_duplicates(shared: Sections, sections: Sections, report: Report) -> None:
    """Ids used twice in `sections`, or already used by the shared items."""

    def groups(part: Sections) -> list[Sequence[Located[object]]]:
        return [
            part.categories,
            part.needs,
            part.rules,
            part.zones,
            [*part.structures, *part.orienteurs],
            part.services,
        ]

    for known, group in zip(groups(shared), groups(sections), strict=True):
        _duplicates_in(known, group, report)
    _faq_duplicates(shared.faq, sections.faq, report)


def _item_id(entry: Located[object]) -> str:
    return str(getattr(entry.item, "id", ""))


def _duplicates_in(
    known: Sequence[Located[object]], entries: Sequence[Located[object]], report: Report
) -> None:
    first: dict[str, Located[object]] = {}
    for entry in known:
        first.setdefault(_item_id(entry), entry)
    for entry in entries:
        item_id = _item_id(entry)
        if item_id in first:
            _duplicate(entry, first[item_id], report)
        else:
            first[item_id] = entry


def _duplicate(entry: Located[object], previous: Located[object], report: Report) -> None:
    line, column = previous.doc.position((*previous.path, "id"))
    where = f"{previous.doc.file}:{line}:{column}"
    report.errors.append(
        entry.problem(f"identifiant en double « {_item_id(entry)} » (déjà défini en {where})", "id")
    )


def _faq_duplicates(
    known: Sequence[Located[Faq]], entries: Sequence[Located[Faq]], report: Report
) -> None:
    national: dict[str, Located[Faq]] = {}
    for entry in known:
        national.setdefault(entry.item.id, entry)
    local: dict[tuple[str, str], Located[Faq]] = {}
    for entry in entries:
        faq = entry.item
        if entry.in_departement_file and faq.portee == "departement":
            key = (entry.doc.file, faq.id)
            if key in local:
                _duplicate(entry, local[key], report)
            local[key] = entry
        elif faq.id in national:
            _duplicate(entry, national[faq.id], report)
        else:
            national[faq.id] = entry
            if entry.in_departement_file:
                message = "une FAQ d'un fichier de département doit avoir « portee: departement »"
                report.warnings.append(entry.problem(message, "portee"))


# --- per section --------------------------------------------------------------------------------


def _check_metas(sections: Sections, report: Report) -> None:
    for entry in sections.metas:
        meta = entry.item
        if meta.departement not in DEPARTEMENTS:
            report.errors.append(
                entry.problem(f"département inconnu « {meta.departement} »", "departement")
            )
        for i, code in enumerate(meta.departements_voisins):
            if code not in DEPARTEMENTS:
                message = f"département voisin inconnu « {code} »"
                report.errors.append(entry.problem(message, "departements_voisins", i))
    for extra in sections.national[1:]:
        first = sections.national[0].doc.file
        report.errors.append(extra.problem(f"section « national » déjà définie dans {first}"))


def _check_categories(sections: Sections, ids: _Ids, report: Report) -> None:
    for entry in sections.categories:
        category = entry.item
        rule_id = category.regle_eligibilite
        if rule_id is not None:
            if rule_id not in ids.rules:
                _reference(entry, report, "règle", rule_id, ids.rules, "regle_eligibilite")
            elif category.id in vocab.IAE_CATEGORIES:
                _iae_rule(entry, ids.rules[rule_id], report, "regle_eligibilite")
        _check_list(entry, report, "FAQ", category.faq, ids.faq, "faq")
        _check_list(entry, report, "catégorie", category.orienteurs, ids.categories, "orienteurs")


def _iae_rule(entry: Located[object], rule: Rule, report: Report, *path: str) -> None:
    if rule.si_faux == "non_eligible":
        message = (
            f"la règle « {rule.id} » a « si_faux: non_eligible » : impossible pour l'IAE, "
            "qu'un prescripteur peut toujours valider (utilisez a_verifier)"
        )
        report.errors.append(entry.problem(message, *path))


def _check_needs_and_rules(sections: Sections, ids: _Ids, report: Report) -> None:
    for need in sections.needs:
        _check_list(need, report, "catégorie", need.item.categories, ids.categories, "categories")
    for rule in sections.rules:
        _check_list(
            rule, report, "catégorie", rule.item.alternatives, ids.categories, "alternatives"
        )
    for faq in sections.faq:
        _check_list(faq, report, "catégorie", faq.item.categories, ids.categories, "categories")


def _check_zones(sections: Sections, gazetteer: GazetteerLike, report: Report) -> None:
    for entry in sections.zones:
        zone = entry.item
        check = _ZONE_CODE_CHECKS[zone.type]
        for i, code in enumerate(zone.codes):
            message = check(code, gazetteer)
            if message:
                report.errors.append(entry.problem(message, "codes", i))


def _commune_code(code: str, gazetteer: GazetteerLike) -> str | None:
    return None if code in gazetteer else f"code INSEE de commune inconnu « {code} »"


def _epci_code(code: str, gazetteer: GazetteerLike) -> str | None:
    if not _SIREN.match(code):
        return f"un EPCI se désigne par son SIREN à 9 chiffres, pas « {code} »"
    communes_of_epci: Callable[[str], object] | None = getattr(gazetteer, "communes_of_epci", None)
    if communes_of_epci is not None and not communes_of_epci(code):
        return f"EPCI inconnu « {code} » (aucune commune de ce SIREN)"
    return None


def _departement_code(code: str, gazetteer: GazetteerLike) -> str | None:
    if code in DEPARTEMENTS:
        return None
    return f"département inconnu « {code} »{suggestion(code, DEPARTEMENTS)}"


def _region_code(code: str, gazetteer: GazetteerLike) -> str | None:
    return None if code in REGIONS else f"code de région inconnu « {code} »"


def _pays_code(code: str, gazetteer: GazetteerLike) -> str | None:
    return None if code == "france" else f"seul le pays « france » est connu, pas « {code} »"


_ZONE_CODE_CHECKS: Final[dict[str, Callable[[str, GazetteerLike], str | None]]] = {
    "commune": _commune_code,
    "liste_communes": _commune_code,
    "epci": _epci_code,
    "departement": _departement_code,
    "region": _region_code,
    "pays": _pays_code,
}


def eligibility_code_problem(code: str, gazetteer: GazetteerLike) -> str | None:
    """Why a `zone_eligibilite` code (INSEE, département, EPCI SIREN, "france") is wrong."""
    if code == "france" or code in DEPARTEMENTS:
        return None
    if _SIREN.match(code):
        return _epci_code(code, gazetteer)
    if _INSEE.match(code):
        return _commune_code(code, gazetteer)
    return (
        f"code de zone inconnu « {code} » (attendu : code INSEE de commune, code de département, "
        "SIREN d'EPCI ou « france »)"
    )


def _check_place(
    entry: Located[Structure] | Located[Service],
    ids: _Ids,
    gazetteer: GazetteerLike,
    report: Report,
) -> None:
    item = entry.item
    if item.code_insee is not None and item.code_insee not in gazetteer:
        message = f"code INSEE inconnu « {item.code_insee} »"
        report.errors.append(entry.problem(message, "code_insee"))
    for i, code in enumerate(item.zone_eligibilite):
        problem = eligibility_code_problem(code, gazetteer)
        if problem:
            report.errors.append(entry.problem(problem, "zone_eligibilite", i))
    _check_list(entry, report, "zone", item.zones, ids.zones, "zones")


def _chain(*groups: Sequence[T]) -> Iterator[T]:
    for group in groups:
        yield from group


def _check_records(
    sections: Sections,
    ids: _Ids,
    gazetteer: GazetteerLike,
    today: dt.date,
    production: bool,
    report: Report,
    memo: RecordMemo | None,
) -> None:
    """Every check of each structure, referent and service on its own (see `RecordMemo`)."""
    context = _record_context(ids, gazetteer, today, production, report.invalid_ids)
    known: dict[int, object] = {}
    for before, passed_then in memo or ():
        if _same_context(before, context):
            known.update(passed_then)
    report.record_context = context
    passed = report.records_passed
    book = gazetteer if isinstance(gazetteer, AddressBook) else None
    for entry, allowed, kind, depends in _records(sections, ids):
        item = entry.item
        if id(item) in known and known[id(item)] is depends:
            passed[id(item)] = depends
            continue
        problems = len(report.errors) + len(report.warnings)
        _check_place(entry, ids, gazetteer, report)
        if allowed is None:
            _check_service(entry, ids, report)
        else:
            _categories_of_kind(entry, allowed, kind, report)
        _check_record_content(entry, gazetteer, book, report)
        _check_freshness([entry], today, report)
        if production:
            _check_example(entry, report)
        if len(report.errors) + len(report.warnings) == problems:
            passed[id(item)] = depends


def _records(
    sections: Sections, ids: _Ids
) -> Iterator[tuple[Located[Any], Sequence[str] | None, str, object]]:
    """(entry, categories allowed or None for a service, kind, what its checks depend on: a
    service's structure, else None) of each structure, referent and service."""
    kinds: list[tuple[Sequence[Located[Any]], Sequence[str] | None, str]] = [
        (sections.structures, vocab.STRUCTURE_CATEGORIES, "structure"),
        (sections.orienteurs, vocab.REFERENT_CATEGORIES, "orienteur"),
        (sections.services, None, "service"),
    ]
    for entries, allowed, kind in kinds:
        for entry in entries:
            depends = ids.structures.get(entry.item.structure_id) if allowed is None else None
            yield entry, allowed, kind, depends


def _categories_of_kind(
    entry: Located[Structure], allowed: Sequence[str], kind: str, report: Report
) -> None:
    for i, category in enumerate(entry.item.categories):
        if category not in allowed:
            message = f"la catégorie « {category} » ne convient pas à un(e) {kind}"
            report.errors.append(entry.problem(message, "categories", i))


def _check_service(entry: Located[Service], ids: _Ids, report: Report) -> None:
    service = entry.item
    structure = ids.structures.get(service.structure_id)
    if structure is None:
        what = "structure"
        _reference(entry, report, what, service.structure_id, ids.structures, "structure_id")
    elif service.categorie not in structure.categories:
        message = (
            f"la catégorie « {service.categorie} » n'est pas dans celles de la structure "
            f"« {structure.id} » ({', '.join(structure.categories)})"
        )
        report.warnings.append(entry.problem(message, "categorie"))
    rule_id = service.eligibilite.regle if service.eligibilite else None
    if rule_id is not None:
        if rule_id not in ids.rules:
            _reference(entry, report, "règle", rule_id, ids.rules, "eligibilite", "regle")
        elif service.categorie in vocab.IAE_CATEGORIES:
            _iae_rule(entry, ids.rules[rule_id], report, "eligibilite", "regle")
    in_person = "en-presentiel" in service.modes_accueil
    located = any(
        place is not None
        and (
            place.code_insee is not None
            or (place.latitude is not None and place.longitude is not None)
        )
        for place in (service, structure)
    )
    if in_person and not located:
        message = "service en présentiel sans code_insee ni latitude/longitude : distance inconnue"
        report.warnings.append(entry.problem(message, "modes_accueil"))


# --- content: addresses, phones, web addresses, opening hours ----------------------------------

_URL_FIELDS: Final = ("lien_source", "site_web", "accessibilite_lieu", "lien_mobilisation")
_DEPARTEMENT_FILE = re.compile(r"(?:^|/)departements/(\d{2,3}|2[AB])(?:-[^/]*)?\.ya?ml$")
IMPORTED_NOTE: Final = (
    " (fiche venue de « {source} » : corrigez-la à la source ou dans ce fichier ; elle ne "
    "bloque pas son département)"
)


@dataclass(frozen=True, slots=True)
class _Findings:
    """Reports a record's content problems at its fields. A record imported from another
    source (`source` other than `local`) is corrected upstream or in its file and never blocks
    its département: its errors are warnings, and say so."""

    entry: Located[Any]
    report: Report

    def __call__(
        self,
        severity: str,
        message: str,
        *field: str | int,
        fix: str | None = None,
        offset: int | None = None,
    ) -> None:
        source = getattr(self.entry.item, "source", None)
        imported = isinstance(source, str) and source != "local"
        if severity == "error" and imported:
            severity, message = "warning", message + IMPORTED_NOTE.format(source=source)
        sink = self.report.errors if severity == "error" else self.report.warnings
        sink.append(self.entry.problem(message, *field, fix=fix, offset=offset))


def _check_record_content(
    entry: Located[Structure] | Located[Service],
    gazetteer: GazetteerLike,
    book: AddressBook | None,
    report: Report,
) -> None:
    item, found = entry.item, _Findings(entry, report)
    if book is not None:
        check_address(item, book, found)
    if item.telephone:
        _phone(item.telephone, _region(entry, gazetteer), found, "telephone")
    for name in _URL_FIELDS:
        value = getattr(item, name, None)
        if value:
            _url(value, found, name)
    if item.horaires_accueil:
        check_hours(item.horaires_accueil, found, "horaires_accueil")


def _check_other_contacts(sections: Sections, report: Report) -> None:
    """The département's contacts and emergency numbers, and the sources of the FAQ, of the
    rules and of the national numbers."""
    for meta in sections.metas:
        found, region = _Findings(meta, report), region_of(meta.item.departement)
        for role in ("responsable", "conseiller"):
            contact = getattr(meta.item, role)
            if contact is not None and contact.telephone:
                _phone(contact.telephone, region, found, role, "telephone")
        for i, urgence in enumerate(meta.item.urgences):
            _phone(urgence.numero, region, found, "urgences", i, "numero")
    for national in sections.national:
        found = _Findings(national, report)
        for i, urgence in enumerate(national.item.urgences):
            _phone(urgence.numero, "FR", found, "urgences", i, "numero")
        for i, url in enumerate(national.item.sources):
            _url(url, found, "sources", i)
    for faq in sections.faq:
        found = _Findings(faq, report)
        for i, url in enumerate(faq.item.sources):
            _url(url, found, "sources", i)
        for i, lien in enumerate(faq.item.liens):
            _url(lien.url, found, "liens", i, "url")
    for rule in sections.rules:
        for i, url in enumerate(rule.item.sources):
            _url(url, _Findings(rule, report), "sources", i)


def _region(entry: Located[Structure] | Located[Service], gazetteer: GazetteerLike) -> str:
    code = entry.item.code_insee
    commune = gazetteer.get(code) if code else None
    if commune is not None:
        return region_of(commune.dept)
    match = _DEPARTEMENT_FILE.search(entry.doc.file)
    return region_of(match.group(1) if match else None)


def _phone(text: str, region: str, found: _Findings, *field: str | int) -> None:
    problem = phone_problem(text, region)
    if problem is not None:
        found("error", problem[0], *field, fix=problem[1])


def _url(url: str, found: _Findings, *field: str | int) -> None:
    problem = url_problem(url)
    if problem is not None:
        found("error", problem, *field)


def _check_lexicon(sections: Sections, report: Report) -> None:
    """A variant that folds into an everyday word would rewrite every sentence ("jé" → "je")."""
    for entry in sections.lexique:
        for m, variant in enumerate(entry.item.variantes):
            folded = fold(variant)
            if folded in COMMON_WORDS:
                message = (
                    f"la variante « {variant} » devient « {folded} » sans accents, un mot "
                    "courant : elle est ignorée (elle changerait toutes les phrases)"
                )
                report.warnings.append(entry.problem(message, "variantes", m))


def _check_vocabulary(sections: Sections, ids: _Ids, report: Report) -> None:
    missing = [
        ("faq", "faq", "FAQ", vocab.FAQ_TOPICS, ids.faq, report.errors),
        ("needs", "besoins", "besoin", vocab.ROUTABLE_NEEDS, ids.needs, report.errors),
        ("categories", "categories", "catégorie", vocab.CATEGORIES, ids.categories,
         report.warnings),
    ]  # fmt: skip
    for attribute, section, what, wanted, known, sink in missing:
        absent = [value for value in wanted if value not in known]
        if absent:
            message = f"{what} attendu(e)s mais absent(e)s : {', '.join(absent)}"
            sink.append(_section_problem(sections, attribute, section, message))


def _section_problem(sections: Sections, attribute: str, section: str, message: str) -> Problem:
    anchor = sections.anchors.get(attribute)
    if anchor is None:
        name = f"{sections.shared_dir}/{section}.yaml"
        return Problem(name, 1, 1, f"section « {section} » absente : {message}")
    doc, key = anchor
    return doc.problem((key,), message, key=True)


def _check_freshness(
    dated: Iterable[Located[Structure] | Located[Service] | Located[Faq]],
    today: dt.date,
    report: Report,
) -> None:
    for entry in dated:
        item = entry.item
        if item.date_maj > today and not isinstance(item, Faq):
            # data·inclusion's own rule, checked here because it depends on the day
            message = "La date de dernière modification ne peut pas être dans le futur."
            report.errors.append(
                entry.problem(f"{message} ({item.date_maj.isoformat()})", "date_maj")
            )
            continue
        frequency = getattr(item, "frequence_maj", None)
        limit = _STALE_DAYS.get(frequency or "", _DEFAULT_STALE_DAYS)
        age = (today - item.date_maj).days
        if age > limit:
            when = f"date_maj du {item.date_maj.isoformat()}, il y a {age} jours"
            if frequency:
                message = (
                    f"fiche plus ancienne que sa fréquence de mise à jour (frequence_maj: "
                    f"{frequency}, soit {limit} jours) : {when}"
                )
            else:
                message = f"{when} (plus d'un an) : à revérifier"
            fix = f"vérifiez la fiche auprès de la structure, puis date_maj: {today.isoformat()}"
            report.warnings.append(entry.problem(message, "date_maj", fix=fix))


def _check_expiry(faqs: Iterable[Located[Faq]], today: dt.date, report: Report) -> None:
    for faq in faqs:
        expiry = faq.item.valide_jusqu_au
        if expiry is not None and expiry < today:
            message = f"réponse périmée depuis le {expiry.isoformat()} (valide_jusqu_au)"
            report.warnings.append(faq.problem(message, "valide_jusqu_au"))


def _check_faq_sources(sections: Sections, report: Report, shared: Sections | None) -> None:
    """A FAQ whose sources are all outside `domaines_sources_fiables` is probably citing a
    commercial page or a blog: warn, and say where the list is kept (in the shared files)."""
    national_entries = (shared or sections).national
    if not national_entries:
        return
    national = national_entries[0]
    trusted = TrustedDomains.of(national.item.domaines_sources_fiables)
    if not trusted.domains:
        return
    for entry in sections.faq:
        faq = entry.item
        if not any(trusted.covers(url) for url in faq.sources):
            message = (
                f"aucune source de la FAQ « {faq.id} » n'est sur un domaine de confiance "
                f"(domaines_sources_fiables dans {national.doc.file}) : citez une page officielle "
                "ou celle d'un réseau national"
            )
            report.warnings.append(entry.problem(message, "sources"))


# --- examples, categories nobody offers, facts rules may test -----------------------------------


def _check_example(entry: Located[Structure] | Located[Service], report: Report) -> None:
    if entry.item.exemple:
        message = (
            "fiche d'exemple (exemple: true) : en production, remplacez-la par une fiche "
            "réelle vérifiée, ou supprimez-la"
        )
        fix = "exemple: false, une fois la fiche vérifiée auprès de la structure"
        report.errors.append(entry.problem(message, "exemple", key=True, fix=fix))


def unproposed_categories(shared: Sections, departements: Sequence[Sections]) -> list[Problem]:
    """A warning for each category a need proposes that no active service of the base offers
    (in the shared files and in every département's files): the dialogue would look for it and
    never find one. The parts are read until every category is found (at national scale, the
    first few départements: the whole base took 2 % of a reload)."""
    needs_of: dict[str, list[str]] = {}
    first: dict[str, tuple[Located[Need], int]] = {}
    for need in shared.needs:
        for i, category in enumerate(need.item.categories):
            needs_of.setdefault(category, []).append(need.item.id)
            first.setdefault(category, (need, i))
    missing = set(first)
    active: set[str] = set()  # the ids of the active structures and referents read so far
    waiting: list[Service] = []  # active services of a missing category, structure not yet seen
    for part in (shared, *departements):
        if not missing:
            break
        places = (*part.structures, *part.orienteurs)
        active.update(e.item.id for e in places if e.item.statut == "actif")
        for entry in part.services:
            service = entry.item
            if service.statut == "actif" and service.categorie in missing:
                if service.structure_id in active:
                    missing.discard(service.categorie)
                else:
                    waiting.append(service)
    else:  # every part read: `active` is whole
        missing -= {service.categorie for service in waiting if service.structure_id in active}
    problems = []
    for category, (need, i) in first.items():
        if category not in missing:
            continue
        named = ", ".join(f"« {n} »" for n in dict.fromkeys(needs_of[category]))
        message = (
            f"aucun service actif de la catégorie « {category} » dans toute la base : le bot ne "
            f"pourra jamais en proposer (besoin {named})"
        )
        fix = "ajoutez une structure et son service dans un département, ou retirez la catégorie"
        problems.append(need.problem(message, "categories", i, fix=fix))
    return problems


class FactLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def asked_as(self) -> str | None: ...


def with_declared_facts(message: str, facts: Iterable[FactLike], faits_file: str) -> str:
    """A rule's "unknown fact" message, completed with the facts rules may test."""
    if not message.startswith(("fait inconnu", "question pour un fait inconnu")):
        return message
    names = list(dict.fromkeys(f.name for f in facts))
    always = [n for n in names if n in _BUILT_IN_FACTS]
    declared = [n for n in names if n not in _BUILT_IN_FACTS]
    return (
        f"{message} ; les règles peuvent tester : {', '.join(declared)} (déclarés dans "
        f"{faits_file}) et {' et '.join(always)} (toujours connus) ; un nouveau fait se "
        f"déclare dans {faits_file}"
    )


_BUILT_IN_FACTS: Final = ("commune", "mois_courant")
