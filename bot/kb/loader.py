"""Load the YAML knowledge base (`knowledge/`) into a checked, immutable `KnowledgeBase`.

Every YAML file under `commun/` and `departements/` is read, in path order. Each section is
validated with one pydantic TypeAdapter (fast path); when a section fails, its items are
validated one by one so that every error is reported and the valid items are still
cross-checked. Problems name the file (relative to the directory's parent), line and column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from bot.kb import checks
from bot.kb.checks import GazetteerLike, Located, Report, Sections, suggestion
from bot.kb.knowledge import KnowledgeBase, KnowledgeError, Problem
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
from bot.kb.yamlpos import YamlDocument, load_yaml
from bot.rules import RuleBook, RuleError

__all__ = ["GazetteerLike", "collect_problems", "load_knowledge"]


@dataclass(frozen=True, slots=True)
class _Section:
    key: str  # top-level YAML key
    attribute: str  # Sections attribute
    model: type[BaseModel]
    adapter: TypeAdapter[list[Any]] | None  # None: a single mapping, not a list
    located: bool = True


def _section(
    key: str, attribute: str, model: type[BaseModel], *, single: bool = False, located: bool = True
) -> _Section:
    adapter = None if single else TypeAdapter(list[model])  # type: ignore[valid-type]
    return _Section(key, attribute, model, adapter, located)


_SECTIONS: Final = {
    s.key: s
    for s in (
        _section("meta", "metas", Meta, single=True),
        _section("national", "national", National, single=True),
        _section("categories", "categories", Category),
        _section("besoins", "needs", Need),
        _section("eligibility_rules", "rules", Rule),
        _section("zones", "zones", Zone),
        _section("structures", "structures", Structure),
        _section("services", "services", Service),
        _section("orienteurs", "orienteurs", Structure),
        _section("faq", "faq", Faq),
        _section("lexique", "lexique", LexiconEntry, located=False),
        _section("statuts", "statuts", StatutEntry, located=False),
    )
}

# A département's companion file (structures, services, referents; its meta is in NN.yaml).
_COMPANION: Final = re.compile(r"^(\d{2}|2[AB]|97\d)-[a-z0-9][a-z0-9-]*$")

# Human hints for the regular expressions of bot.kb.models.
_PATTERN_HINTS: Final = {
    "^[a-z0-9][a-z0-9_\\-]*$": "minuscules, chiffres, « - » et « _ » seulement",
    "^[a-z0-9][a-z0-9\\-]*--[A-Za-z0-9_\\-:.]+$": "de la forme « source--identifiant »",
    "^(\\d{5}|2[AB]\\d{3})$": "code INSEE à 5 caractères, par exemple « 54395 »",
    "^(\\d{2}|2[AB]|97\\d)$": "code de département, par exemple « 54 » ou « 2A »",
    "^https?://\\S+$": "adresse commençant par http:// ou https://",
    "^\\d{14}$": "SIRET à 14 chiffres",
    "^\\d{5}$": "code postal à 5 chiffres",
}
_TYPE_NAMES: Final = {
    "string_type": "un texte",
    "int_type": "un nombre entier",
    "int_parsing": "un nombre entier",
    "int_from_float": "un nombre entier",
    "float_type": "un nombre",
    "float_parsing": "un nombre",
    "bool_type": "true ou false",
    "bool_parsing": "true ou false",
    "list_type": "une liste (une ligne « - valeur » par élément, ou [a, b])",
    "dict_type": "un dictionnaire (des lignes « clé: valeur »)",
    "model_type": "un dictionnaire (des lignes « clé: valeur »)",
    "model_attributes_type": "un dictionnaire (des lignes « clé: valeur »)",
    "date_type": "une date AAAA-MM-JJ",
    "date_parsing": "une date AAAA-MM-JJ",
    "date_from_datetime_parsing": "une date AAAA-MM-JJ",
    "date_from_datetime_inexact": "une date AAAA-MM-JJ (sans heure)",
}
_BOUNDS: Final = {
    "greater_than": ("gt", "supérieur à"),
    "greater_than_equal": ("ge", "supérieur ou égal à"),
    "less_than": ("lt", "inférieur à"),
    "less_than_equal": ("le", "inférieur ou égal à"),
}


# --- public API ---------------------------------------------------------------------------------


def load_knowledge(
    directory: Path, gazetteer: GazetteerLike, *, today: dt.date | None = None
) -> KnowledgeBase:
    """Load and check the knowledge base; raise KnowledgeError listing every error."""
    sections, report = _load(directory, gazetteer, today or dt.date.today())
    if report.errors:
        raise KnowledgeError(_sorted(report.errors))
    return _assemble(directory, sections, _sorted(report.warnings))


def collect_problems(
    directory: Path, gazetteer: GazetteerLike, *, today: dt.date | None = None
) -> tuple[list[Problem], list[Problem]]:
    """Every (error, warning) of the knowledge base, each list sorted by file and position."""
    _, report = _load(directory, gazetteer, today or dt.date.today())
    return _sorted(report.errors), _sorted(report.warnings)


def load_with_problems(
    directory: Path, gazetteer: GazetteerLike, *, today: dt.date | None = None
) -> tuple[KnowledgeBase | None, list[Problem], list[Problem]]:
    """The knowledge base (None when there are errors), its errors and its warnings."""
    sections, report = _load(directory, gazetteer, today or dt.date.today())
    errors, warnings = _sorted(report.errors), _sorted(report.warnings)
    kb = None if errors else _assemble(directory, sections, warnings)
    return kb, errors, warnings


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file, p.line, p.column, p.message))


# --- loading ------------------------------------------------------------------------------------


def _load(directory: Path, gazetteer: GazetteerLike, today: dt.date) -> tuple[Sections, Report]:
    sections, report = Sections(), Report()
    files = _yaml_files(directory)
    if not files:
        name = _relative(directory, directory)
        report.errors.append(
            Problem(name, 1, 1, "aucun fichier YAML dans commun/ ni departements/")
        )
        return sections, report
    for path in files:
        _load_file(path, _relative(path, directory), sections, report)
    if not any(path.parent.name == "departements" for path in files):
        name = _relative(directory / "departements", directory)
        report.warnings.append(Problem(name, 1, 1, "aucun fichier de département (NN.yaml)"))
    checks.check_all(sections, gazetteer, today, report)
    _compile_rules(sections, gazetteer, report)
    return sections, report


def _yaml_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for sub in ("commun", "departements"):
        base = directory / sub
        if base.is_dir():
            found += [p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(found)


def _relative(path: Path, directory: Path) -> str:
    parent = directory.resolve().parent
    try:
        return path.resolve().relative_to(parent).as_posix()
    except ValueError:
        return path.as_posix()


def _load_file(path: Path, name: str, sections: Sections, report: Report) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        report.errors.append(Problem(name, 1, 1, f"fichier illisible : {error}"))
        return
    doc, problems = load_yaml(text, name)
    report.errors.extend(problems)
    if doc is None or doc.data is None:
        return
    if not isinstance(doc.data, dict):
        report.errors.append(doc.problem((), "le fichier doit être un dictionnaire de sections"))
        return
    is_departement = "/departements/" in f"/{name}"
    for key, value in doc.data.items():
        spec = _SECTIONS.get(key) if isinstance(key, str) else None
        if spec is None:
            message = f"section inconnue « {key} »{suggestion(str(key), _SECTIONS)}"
            report.errors.append(doc.problem((key,), message, key=True))
            continue
        sections.anchors.setdefault(spec.attribute, (doc, key))
        _load_section(doc, spec, value, sections, report)
    _check_meta_placement(doc, path, is_departement, sections, report)


def _check_meta_placement(
    doc: YamlDocument, path: Path, is_departement: bool, sections: Sections, report: Report
) -> None:
    if not is_departement:
        if "meta" in doc.data:
            message = "« meta » n'a sa place que dans un fichier de departements/"
            report.errors.append(doc.problem(("meta",), message, key=True))
        return
    companion = _COMPANION.match(path.stem)  # e.g. 54-data-inclusion.yaml, beside 54.yaml
    if companion is not None:
        if "meta" in doc.data:
            message = f"« meta » n'a sa place que dans {companion.group(1)}{path.suffix}"
            report.errors.append(doc.problem(("meta",), message, key=True))
        return
    if "meta" not in doc.data:
        report.errors.append(doc.problem((), "section « meta » manquante"))
        return
    meta = next((m.item for m in reversed(sections.metas) if m.doc is doc), None)
    if meta is not None and path.stem != meta.departement:
        message = (
            f"le fichier s'appelle « {path.name} » mais décrit le département "
            f"« {meta.departement} » : renommez-le « {meta.departement}{path.suffix} »"
        )
        report.errors.append(doc.problem(("meta", "departement"), message))


def _load_section(
    doc: YamlDocument, spec: _Section, value: Any, sections: Sections, report: Report
) -> None:
    target: list[Any] = getattr(sections, spec.attribute)
    if spec.adapter is None:
        item = _validate_one(doc, spec.model, value, (spec.key,), report)
        if item is not None:
            target.append(Located(item, doc, (spec.key,)))
        return
    if value is None:
        return
    if not isinstance(value, list):
        message = f"la section « {spec.key} » doit être une liste (une ligne « - » par élément)"
        report.errors.append(doc.problem((spec.key,), message))
        return
    try:
        items = spec.adapter.validate_python(value)
    except ValidationError:
        items = [
            _validate_one(doc, spec.model, v, (spec.key, i), report) for i, v in enumerate(value)
        ]
    for i, item in enumerate(items):
        if item is not None:
            target.append(Located(item, doc, (spec.key, i)) if spec.located else item)
        elif isinstance(value[i], dict) and isinstance(value[i].get("id"), str):
            report.invalid_ids.add(value[i]["id"])


def _validate_one(
    doc: YamlDocument,
    model: type[BaseModel],
    value: Any,
    path: tuple[str | int, ...],
    report: Report,
) -> BaseModel | None:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        for details in error.errors(include_url=False):
            report.errors.append(_pydantic_problem(doc, model, path, details))
        return None


# --- pydantic errors in French ------------------------------------------------------------------


def _pydantic_problem(
    doc: YamlDocument, model: type[BaseModel], base: tuple[str | int, ...], error: ErrorDetails
) -> Problem:
    loc = tuple(error["loc"])
    field = next((x for x in reversed(loc) if isinstance(x, str)), str(base[0]))
    kind = error["type"]
    if kind == "extra_forbidden":
        fields = _fields_at(model, loc[:-1])
        return doc.problem(
            (*base, *loc), f"champ inconnu « {field} »{suggestion(field, fields)}", key=True
        )
    if kind == "missing":
        return doc.problem((*base, *loc), f"champ obligatoire manquant : {field}")
    return doc.problem((*base, *loc), _value_message(field, error))


def _value_message(field: str, error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    shown = _show(value)
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in _TYPE_NAMES:
        return f"« {field} » : {_TYPE_NAMES[kind]} est attendu(e), pas {shown}"
    if kind == "literal_error":
        allowed = _literal_values(str(ctx.get("expected", "")))
        hint = suggestion(str(value), allowed)
        choices = ", ".join(allowed)
        return f"valeur « {value} » impossible pour « {field} »{hint} (possibles : {choices})"
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(ctx.get("pattern", "")), "format attendu non respecté")
        return f"format invalide pour « {field} » : {shown} ({hint})"
    if kind in ("too_short", "string_too_short"):
        unit = "élément(s)" if kind == "too_short" else "caractère(s)"
        return f"« {field} » : au moins {ctx.get('min_length')} {unit} attendu(s)"
    if kind in ("too_long", "string_too_long"):
        unit = "élément(s)" if kind == "too_long" else "caractère(s)"
        return (
            f"« {field} » : au plus {ctx.get('max_length')} {unit} ({_length(value)} actuellement)"
        )
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"« {field} » doit être {words} {ctx.get(key)}, pas {shown}"
    return f"valeur invalide pour « {field} » : {shown} ({error['msg']})"


def _show(value: object) -> str:
    if isinstance(value, (dict, list)):
        return "un dictionnaire" if isinstance(value, dict) else "une liste"
    if value is None:
        return "une valeur vide"
    text = str(value)
    return f"« {text[:60]}… »" if len(text) > 60 else f"« {text} »"


def _length(value: object) -> int:
    return len(value) if isinstance(value, (str, list, dict)) else 0


def _literal_values(expected: str) -> list[str]:
    values: list[str] = []
    for part in expected.replace(" or ", ", ").split(", "):
        part = part.strip()
        values.append(part[1:-1] if part[:1] == part[-1:] == "'" else part)
    return [v for v in values if v]


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the (nested) model at `loc`, for "did you mean" on unknown fields."""
    current: type[BaseModel] = model
    for element in loc:
        info = current.model_fields.get(element) if isinstance(element, str) else None
        if info is None:
            continue
        nested = _nested_model(info.annotation)
        if nested is None:
            return []
        current = nested
    return list(current.model_fields)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin is None:
        return None
    args = get_args(annotation)
    if origin in (Union, UnionType, list, tuple, set, frozenset) or str(origin).endswith(
        "Annotated"
    ):
        candidates = args
    elif origin is dict:
        candidates = args[1:]
    else:
        candidates = args[:1]
    return next((m for m in map(_nested_model, candidates) if m is not None), None)


# --- rules --------------------------------------------------------------------------------------


def _compile_rules(sections: Sections, gazetteer: GazetteerLike, report: Report) -> None:
    entries = _first_by_id(sections.rules)
    zones = {e.item.id: e.item for e in reversed(sections.zones)}
    try:
        book = RuleBook.compile({k: e.item for k, e in entries.items()}, zones, gazetteer)
    except RuleError as error:
        for issue in error.issues:
            entry = entries[issue.rule_id]
            report.errors.append(entry.problem(issue.message, issue.field, *issue.path))
        book = RuleBook.compile({}, zones, gazetteer)
    for service in sections.services:
        conditions = service.item.eligibilite.conditions if service.item.eligibilite else None
        if conditions is not None:
            for issue in book.check_conditions(conditions, service.item.id):
                where = ("eligibilite", "conditions", *issue.path)
                report.errors.append(service.problem(issue.message, *where))


def _first_by_id(entries: list[Located[Rule]]) -> dict[str, Located[Rule]]:
    first: dict[str, Located[Rule]] = {}
    for entry in entries:
        first.setdefault(entry.item.id, entry)
    return first


# --- assembling ---------------------------------------------------------------------------------


def _by_id(entries: Sequence[Located[Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in entries:
        result.setdefault(entry.item.id, entry.item)
    return result


def _faq_with_overrides(entries: Sequence[Located[Faq]]) -> dict[str, Faq]:
    national = {e.item.id: e.item for e in reversed(entries) if not _is_local(e)}
    local = {e.item.id: e.item for e in reversed(entries) if _is_local(e)}
    return {**national, **local}


def _is_local(entry: Located[Faq]) -> bool:
    return entry.in_departement_file and entry.item.portee == "departement"


def _assemble(directory: Path, sections: Sections, warnings: list[Problem]) -> KnowledgeBase:
    return KnowledgeBase(
        source_dir=directory,
        metas={m.item.departement: m.item for m in reversed(sections.metas)},
        national=sections.national[0].item if sections.national else National(),
        categories=_by_id(sections.categories),
        needs=_by_id(sections.needs),
        zones=_by_id(sections.zones),
        rules=_by_id(sections.rules),
        structures=_by_id(sections.structures),
        services=tuple(e.item for e in sections.services),
        orienteurs=tuple(e.item for e in sections.orienteurs),
        faq=_faq_with_overrides(sections.faq),
        lexique=tuple(sections.lexique),
        statuts=tuple(sections.statuts),
        warnings=tuple(warnings),
    )
