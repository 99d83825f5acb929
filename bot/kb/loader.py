"""Load the YAML knowledge base (`knowledge/`) into a checked, immutable `KnowledgeBase`.

The files, and what each may hold:

    commun/*.yaml                        shared by every département: categories, needs, rules,
                                         FAQ, lexicon, national numbers (and national structures)
    departements/<code>.yaml             one département, with its `meta`
    departements/<code>-<anything>.yaml  more records of that département (an import, say
                                         54-data-inclusion.yaml): zones, structures, services,
                                         orienteurs; no `meta`

A file's département is its name's prefix. Each file is read and validated on its own (YAML,
then pydantic, item by item, so that every error is reported), then each part is cross-checked
on its own: the shared files alone, each département against the shared items only. So:

- an error in the shared files refuses the whole base (`LoadReport.applied` is false; a running
  bot keeps its last good base);
- an error in a département disables that département only: its items are left out, its errors
  are in `KnowledgeBase.disabled`, and the other départements serve as usual;
- a file that belongs to no département is ignored, with an error.

Both stages are cached by content (`bot.kb.cache`). Problems name the file (relative to the
directory's parent), line and column. Hostile files are refused (`Limits`, and the YAML limits
of `bot.kb.yamlpos`).

Adding a section is one entry in `_SECTIONS` (and its field on `KnowledgeBase`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, UnionType
from typing import Any, Final, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from bot.kb import checks
from bot.kb.cache import Checked, Entry, KnowledgeCache, ParsedFile, digest_bytes, paused_gc
from bot.kb.checks import GazetteerLike, Located, Report, Sections, suggestion
from bot.kb.knowledge import KnowledgeBase, KnowledgeError, LoadReport, Problem
from bot.kb.models import (
    Category,
    Faq,
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
from bot.kb.yamlpos import DEFAULT_LIMITS, YamlDocument, YamlLimits, decode_yaml_bytes, load_yaml
from bot.rules import RuleBook, RuleError, ZoneIndex

__all__ = [
    "GazetteerLike",
    "Limits",
    "collect_problems",
    "load_knowledge",
    "load_with_problems",
]

MIB: Final = 1024 * 1024
_CHUNK: Final = 100  # items validated in one pydantic call (a reload never holds the GIL long)


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits of the knowledge base (documented in knowledge/README.md)."""

    shared_file_bytes: int = 2 * MIB  # each file of commun/
    departement_file_bytes: int = 32 * MIB  # each file of departements/
    departement_bytes: int = 64 * MIB  # all the files of one département
    departement_files: int = 20  # files of one département
    rule_depth: int = 16  # nested conditions in one rule (tous → au_moins_un → non → …)
    rule_conditions: int = 500  # conditions in one rule (the shipped ones have at most 21)
    yaml: YamlLimits = DEFAULT_LIMITS  # nesting and aliases in every file


DEFAULT_LIMITS_KB: Final = Limits()

Kind = Literal["commun", "departement", "annexe"]
_COMMUN: Final = frozenset({"commun"})
_DEPARTEMENT: Final = frozenset({"departement"})
_SHARED_OR_OWN: Final = frozenset({"commun", "departement"})
_ANYWHERE: Final = frozenset({"commun", "departement", "annexe"})


# --- sections -----------------------------------------------------------------------------------


# How the KnowledgeBase holds a section, in two steps so that a reload redoes only what changed:
# `gather` one file's items (and whether it is a département's file) into its part, then
# `merge` the files' parts, in file order. Each file's part is kept with the parsed file.


class _Holding(NamedTuple):
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


BY_ID: Final = _Holding(_first_by("id"), _merged)
ONCE_EACH: Final = _Holding(_first_by("id"), lambda parts: tuple(_merged(parts).values()))
METAS: Final = _Holding(_first_by("departement"), _merged)
FIRST: Final = _Holding(_items, _national)
ALL: Final = _Holding(_items, _chained)
FAQ: Final = _Holding(_faq, _faq_with_overrides)


@dataclass(frozen=True, slots=True)
class _Section:
    key: str  # top-level YAML key
    attribute: str  # KnowledgeBase (and Sections) attribute
    model: type[BaseModel]  # what validates it
    holding: _Holding  # how the KnowledgeBase holds it
    places: frozenset[str]  # kinds of files where it may be written
    record: type[Any] | None = None  # the read-only record the bot holds (None: the model)
    adapter: TypeAdapter[list[Any]] | None = None  # None: a single mapping, not a list

    @property
    def held_type(self) -> type[Any]:
        return self.record or self.model

    def finish(self, item: BaseModel) -> Any:
        return record_from(item, self.record) if self.record is not None else item


def _section(
    key: str,
    attribute: str,
    model: type[BaseModel],
    holding: _Holding,
    places: frozenset[str],
    *,
    record: type[Any] | None = None,
    single: bool = False,
) -> _Section:
    adapter = None if single else TypeAdapter(list[model])  # type: ignore[valid-type]
    return _Section(key, attribute, model, holding, places, record, adapter)


_SECTIONS: Final = {
    s.key: s
    for s in (
        _section("meta", "metas", Meta, METAS, _DEPARTEMENT, single=True),
        _section("national", "national", National, FIRST, _COMMUN, single=True),
        _section("categories", "categories", Category, BY_ID, _COMMUN),
        _section("besoins", "needs", Need, BY_ID, _COMMUN),
        _section("eligibility_rules", "rules", Rule, BY_ID, _COMMUN),
        _section("zones", "zones", Zone, BY_ID, _ANYWHERE),
        _section("structures", "structures", StructureSchema, BY_ID, _ANYWHERE,
                 record=Structure),
        _section("services", "services", ServiceSchema, ONCE_EACH, _ANYWHERE, record=Service),
        _section("orienteurs", "orienteurs", StructureSchema, ONCE_EACH, _ANYWHERE,
                 record=Structure),
        _section("faq", "faq", Faq, FAQ, _SHARED_OR_OWN),
        _section("lexique", "lexique", LexiconEntry, ALL, _COMMUN),
        _section("statuts", "statuts", StatutEntry, ALL, _COMMUN),
    )
}  # fmt: skip
_HELD_TYPES: Final = MappingProxyType({key: spec.held_type for key, spec in _SECTIONS.items()})
# Ids shared by the whole base: one id, one record, whatever the département.
_ID_GROUPS: Final = {"structures": "lieu", "orienteurs": "lieu", "services": "service",
                     "zones": "zone"}  # fmt: skip


# --- public API ---------------------------------------------------------------------------------


def load_knowledge(
    directory: Path,
    gazetteer: GazetteerLike,
    *,
    today: dt.date | None = None,
    cache: KnowledgeCache | None = None,
    limits: Limits = DEFAULT_LIMITS_KB,
) -> KnowledgeBase:
    """Load and check the knowledge base; raise KnowledgeError when the shared files have errors.

    Départements with errors are left out (see `KnowledgeBase.disabled`).
    """
    kb, report = load_with_problems(directory, gazetteer, today=today, cache=cache, limits=limits)
    if kb is None:
        raise KnowledgeError(list(report.errors))
    return kb


def load_with_problems(
    directory: Path,
    gazetteer: GazetteerLike,
    *,
    today: dt.date | None = None,
    cache: KnowledgeCache | None = None,
    limits: Limits = DEFAULT_LIMITS_KB,
    keep_last_good: bool = False,
) -> tuple[KnowledgeBase | None, LoadReport]:
    """The knowledge base (None when the shared files have errors) and what was found.

    With `keep_last_good` (a running bot's reload), a département whose files now have errors
    keeps serving the last version of its files that loaded without error in this process (the
    cache remembers it), when there is one; it is disabled otherwise.
    """
    with paused_gc():
        loader = _Loader(directory, gazetteer, today or dt.date.today(), cache, limits)
        return loader.run(keep_last_good=keep_last_good)


def collect_problems(
    directory: Path, gazetteer: GazetteerLike, *, today: dt.date | None = None
) -> tuple[list[Problem], list[Problem]]:
    """Every (error, warning) of the knowledge base, each list sorted by file and position."""
    _, report = load_with_problems(directory, gazetteer, today=today)
    return list(report.errors), list(report.warnings)


def _sorted(problems: Iterator[Problem] | Sequence[Problem]) -> tuple[Problem, ...]:
    unique = dict.fromkeys(problems)
    return tuple(sorted(unique, key=lambda p: (p.file, p.line, p.column, p.message)))


# --- the files ----------------------------------------------------------------------------------

_DEPARTEMENT_FILE: Final = re.compile(r"^(?P<code>\d{2}|2[AB]|97\d)(?P<annexe>-.+)?$")
_YAML_SUFFIXES: Final = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class _Source:
    path: Path
    name: str  # as shown in problems
    kind: Kind
    unit: str  # "commun" or the département's code


@dataclass(slots=True)
class _Layout:
    shared: list[_Source] = field(default_factory=list)
    departements: dict[str, list[_Source]] = field(default_factory=dict)  # main file first
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _layout(directory: Path) -> _Layout:
    layout = _Layout()
    for path in _yaml_files(directory / "commun", directory, layout):
        layout.shared.append(_Source(path, _relative(path, directory), "commun", "commun"))
    annexes: dict[str, list[_Source]] = {}
    for path in _yaml_files(directory / "departements", directory, layout):
        name = _relative(path, directory)
        match = _DEPARTEMENT_FILE.match(path.stem)
        if match is None:
            message = (
                f"fichier ignoré : « {path.name} » ne commence pas par un numéro de département "
                "(« 54.yaml », « 54-data-inclusion.yaml », « 2A.yaml »…)"
            )
            layout.errors.append(Problem(name, 1, 1, message))
            continue
        code = match["code"]
        if match["annexe"]:
            annexes.setdefault(code, []).append(_Source(path, name, "annexe", code))
        else:
            layout.departements.setdefault(code, []).insert(
                0, _Source(path, name, "departement", code)
            )
    for code, extra in annexes.items():
        layout.departements.setdefault(code, []).extend(extra)
    layout.departements = dict(sorted(layout.departements.items()))
    if not layout.shared and not layout.departements:
        name = _relative(directory, directory)
        layout.errors.append(
            Problem(name, 1, 1, "aucun fichier YAML dans commun/ ni departements/")
        )
    elif not layout.departements:
        name = _relative(directory / "departements", directory)
        layout.warnings.append(Problem(name, 1, 1, "aucun fichier de département (NN.yaml)"))
    return layout


def _yaml_files(base: Path, directory: Path, layout: _Layout) -> list[Path]:
    if not base.is_dir():
        return []
    found: list[Path] = []
    for path in sorted(base.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            if any(p.suffix in _YAML_SUFFIXES for p in path.rglob("*")):
                message = "dossier ignoré : les fichiers YAML doivent être directement ici"
                layout.warnings.append(Problem(_relative(path, directory), 1, 1, message))
        elif path.suffix in _YAML_SUFFIXES and path.is_file():
            found.append(path)
    return found


def _relative(path: Path, directory: Path) -> str:
    parent = directory.resolve().parent
    try:
        return path.resolve().relative_to(parent).as_posix()
    except ValueError:
        return path.as_posix()


# --- one file -----------------------------------------------------------------------------------

_WARNINGS_AS_ERRORS: Final = {"ignore_warnings": False}  # data·inclusion's "avertissements"


def _unreadable(source: _Source, digest: str, problem: Problem) -> ParsedFile:
    doc = YamlDocument(source.name, None, path=source.path)
    return ParsedFile(source.name, digest, [], [problem], [], set(), [], doc, broken=True)


def _parse(source: _Source, raw: bytes, digest: str, limits: Limits) -> ParsedFile:
    """Read and validate one file, item by item, alone (cacheable: depends on its bytes only)."""
    decoded = decode_yaml_bytes(raw, source.name)
    if isinstance(decoded, Problem):
        return _unreadable(source, digest, decoded)
    doc, problems = load_yaml(decoded, source.name, limits.yaml, path=source.path)
    if doc is None:
        return _unreadable(source, digest, problems[0])
    parsed = ParsedFile(source.name, digest, [], problems, [], set(), [], doc)
    data = doc.data
    if data is None:
        message = "fichier vide (ou seulement des commentaires)"
        if source.kind == "departement":
            message += f" : le département {source.unit} n'aurait plus aucune information"
        parsed.errors.append(Problem(source.name, 1, 1, message))
    elif not isinstance(data, dict):
        parsed.errors.append(doc.problem((), "le fichier doit être un dictionnaire de sections"))
        parsed.broken = True
    else:
        for key, value in data.items():
            _parse_section(source, doc, key, value, parsed)
        _check_meta_placement(source, doc, parsed)
        _check_rule_sizes(doc, parsed, limits)
    doc.forget_text()
    return parsed


def _parse_section(
    source: _Source, doc: YamlDocument, key: object, value: Any, parsed: ParsedFile
) -> None:
    spec = _SECTIONS.get(key) if isinstance(key, str) else None
    if spec is None:
        message = f"section inconnue « {key} »{suggestion(str(key), _SECTIONS)}"
        parsed.errors.append(doc.problem((str(key),), message, key=True))
        return
    if source.kind not in spec.places:
        parsed.errors.append(doc.problem((spec.key,), _misplaced(spec, source), key=True))
        return
    parsed.keys.append(spec.key)
    if spec.adapter is None:
        item = _validate_one(doc, spec.model, value, (spec.key,), parsed)
        if item is not None:
            parsed.entries.append(Entry(spec.key, None, spec.finish(item)))
        return
    if value is None:
        return
    if not isinstance(value, list):
        message = f"la section « {spec.key} » doit être une liste (une ligne « - » par élément)"
        parsed.errors.append(doc.problem((spec.key,), message))
        return
    for start in range(0, len(value), _CHUNK):
        chunk = value[start : start + _CHUNK]
        try:
            items = spec.adapter.validate_python(chunk, context=_WARNINGS_AS_ERRORS)
        except ValidationError:
            items = [
                _validate_one(doc, spec.model, v, (spec.key, start + i), parsed)
                for i, v in enumerate(chunk)
            ]
        for i, item in enumerate(items):
            if item is not None:
                parsed.entries.append(Entry(spec.key, start + i, spec.finish(item)))
            elif isinstance(chunk[i], dict) and isinstance(chunk[i].get("id"), str):
                parsed.invalid_ids.add(chunk[i]["id"])


def _misplaced(spec: _Section, source: _Source) -> str:
    if spec.key == "meta":
        if source.kind == "annexe":
            return f"« meta » va dans departements/{source.unit}.yaml, pas dans un fichier annexe"
        return "« meta » n'a sa place que dans un fichier de departements/"
    if spec.places == _COMMUN:
        return (
            f"la section « {spec.key} » n'a sa place que dans commun/ (elle est partagée par "
            "tous les départements)"
        )
    return f"la section « {spec.key} » va dans departements/{source.unit}.yaml"


def _validate_one(
    doc: YamlDocument,
    model: type[BaseModel],
    value: Any,
    path: tuple[str | int, ...],
    parsed: ParsedFile,
) -> BaseModel | None:
    try:
        return model.model_validate(value, context=_WARNINGS_AS_ERRORS)
    except ValidationError as error:
        details = error.errors(include_url=False)
    for detail in details:
        problem = _pydantic_problem(doc, model, path, detail)
        (parsed.warnings if detail["type"] == "avertissement" else parsed.errors).append(problem)
    if any(detail["type"] != "avertissement" for detail in details):
        return None
    return model.model_validate(value)  # only warnings: valid


def _check_meta_placement(source: _Source, doc: YamlDocument, parsed: ParsedFile) -> None:
    if source.kind != "departement":
        return
    meta = next((e.item for e in parsed.entries if e.key == "meta"), None)
    if "meta" not in doc.data:
        parsed.errors.append(doc.problem((), "section « meta » manquante"))
    elif meta is not None and source.unit != meta.departement:
        message = (
            f"le fichier s'appelle « {source.path.name} » mais décrit le département "
            f"« {meta.departement} » : renommez-le « {meta.departement}{source.path.suffix} »"
        )
        parsed.errors.append(doc.problem(("meta", "departement"), message))


def _check_rule_sizes(doc: YamlDocument, parsed: ParsedFile, limits: Limits) -> None:
    """Rules and inline conditions too deep or too big to be a mistake are refused."""
    kept: list[Entry] = []
    for entry in parsed.entries:
        conditions: object = None
        where: tuple[str | int, ...] = ()
        if entry.key == "eligibility_rules":
            conditions, where = entry.item.conditions, ("conditions",)
        elif entry.key == "services" and entry.item.eligibilite is not None:
            conditions, where = entry.item.eligibilite.conditions, ("eligibilite", "conditions")
        message = _rule_size_problem(conditions, limits) if conditions is not None else None
        if message is None:
            kept.append(entry)
            continue
        assert entry.position is not None
        parsed.errors.append(doc.problem((entry.key, entry.position, *where), message))
        parsed.invalid_ids.add(entry.item.id)
    parsed.entries = kept


def _rule_size_problem(conditions: object, limits: Limits) -> str | None:
    """Why these conditions are too deep or too big (conditions are the mappings in them)."""
    deepest, count = 0, 0
    stack: list[tuple[object, int]] = [(conditions, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            level += 1
            count += 1
            children: list[object] = list(node.values())
        elif isinstance(node, list):
            children = list(node)
        else:
            continue
        deepest = max(deepest, level)
        if deepest > limits.rule_depth:
            return (
                f"conditions trop imbriquées : plus de {limits.rule_depth} niveaux (limite de "
                "sécurité) ; découpez la règle en règles plus simples reliées par « regle: »"
            )
        if count > limits.rule_conditions:
            return (
                f"règle trop grande : plus de {limits.rule_conditions} conditions (limite de "
                "sécurité) ; découpez-la en règles reliées par « regle: »"
            )
        stack.extend((child, level) for child in children)
    return None


# --- parts: the shared files, each département --------------------------------------------------


@dataclass(slots=True)
class _Part:
    unit: str  # "commun" or a département code
    files: list[ParsedFile]
    key: str  # digest of its files (and, for a département, of the shared part)
    shared_dir: str  # the shared folder as shown in problems
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    _sections: Sections | None = None

    @property
    def sections(self) -> Sections:
        if self._sections is None:
            self._sections = _sections_of(self.files, self.shared_dir)
        return self._sections

    def entries(self) -> Iterator[tuple[ParsedFile, Entry]]:
        for parsed in self.files:
            for entry in parsed.entries:
                yield parsed, entry


def _sections_of(files: list[ParsedFile], shared_dir: str) -> Sections:
    sections = Sections(shared_dir=shared_dir)
    for parsed in files:
        for key in parsed.keys:
            sections.anchors.setdefault(_SECTIONS[key].attribute, (parsed.doc, key))
        for entry in parsed.entries:
            path = (entry.key,) if entry.position is None else (entry.key, entry.position)
            sections.of(_SECTIONS[entry.key].attribute).append(
                Located(entry.item, parsed.doc, path)
            )
    return sections


class _Loader:
    def __init__(
        self,
        directory: Path,
        gazetteer: GazetteerLike,
        today: dt.date,
        cache: KnowledgeCache | None,
        limits: Limits,
    ) -> None:
        self.directory = directory
        self.gazetteer = gazetteer
        self.today = today
        self.cache = cache or KnowledgeCache(None)
        self.limits = limits
        self._book: RuleBook | None = None

    def run(self, *, keep_last_good: bool) -> tuple[KnowledgeBase | None, LoadReport]:
        layout = _layout(self.directory)
        if not layout.shared and not layout.departements:
            return None, LoadReport(False, _sorted(layout.errors))
        shared = self._part("commun", *self._read("commun", layout.shared), None)
        parts = [
            self._part(code, *self._read(code, sources), shared)
            for code, sources in layout.departements.items()
        ]
        refused: dict[str, tuple[Problem, ...]] = {}
        if keep_last_good and not shared.errors:
            parts = [self._last_good_if_broken(part, shared, refused) for part in parts]
        self._cross_check(shared, parts)
        names = {f.name for p in [shared, *parts] for f in p.files}
        self.cache.forget_others(names, {"commun", *layout.departements})
        for part in [shared, *parts]:
            if not part.errors:
                self.cache.remember_good(part.unit, part.files)
        errors = _sorted(
            [
                *layout.errors,
                *shared.errors,
                *(e for p in parts for e in p.errors),
                *(e for problems in refused.values() for e in problems),
            ]
        )
        warnings = _sorted(
            [*layout.warnings, *shared.warnings, *(w for p in parts for w in p.warnings)]
        )
        disabled = {p.unit: _sorted(p.errors) for p in parts if p.errors}
        report = LoadReport(
            not shared.errors,
            errors,
            warnings,
            MappingProxyType(disabled),
            MappingProxyType(refused),
        )
        if not report.applied:
            return None, report
        served = [shared, *(p for p in parts if not p.errors)]
        return self._assemble(served, warnings, report.disabled), report

    def _last_good_if_broken(
        self, part: _Part, shared: _Part, refused: dict[str, tuple[Problem, ...]]
    ) -> _Part:
        """The département as it last loaded without error, if its files now have errors."""
        good = self.cache.last_good(part.unit) if part.errors else None
        if good is None or [f.digest for f in good] == [f.digest for f in part.files]:
            return part
        previous = self._part(part.unit, good, [], shared)
        if previous.errors:  # no longer valid with the new shared files
            return part
        refused[part.unit] = _sorted(part.errors)
        return previous

    # --- reading ---------------------------------------------------------------------------------

    def _part(
        self, unit: str, files: list[ParsedFile], problems: list[Problem], shared: _Part | None
    ) -> _Part:
        inputs = [f"{f.name} {f.digest}" for f in files]
        if shared is not None:
            inputs.append(f"commun {shared.key}")
        part_key = digest_bytes("\n".join(inputs).encode())
        part = _Part(unit, files, part_key, _relative(self.directory / "commun", self.directory))
        part.errors += problems
        for parsed in files:
            part.errors += parsed.errors
            part.warnings += parsed.warnings
        checks_key = self.cache.checks_key(unit, inputs, self.today)
        checked = self.cache.checked(unit, checks_key)
        if checked is None:
            checked = self._check(part, shared)
            self.cache.keep_checked(unit, checks_key, checked)
        part.errors += checked.errors
        part.warnings += checked.warnings
        return part

    def _read(self, unit: str, sources: list[_Source]) -> tuple[list[ParsedFile], list[Problem]]:
        limits, problems = self.limits, []
        if unit != "commun":
            if not sources or sources[0].kind != "departement":
                name = sources[0].name if sources else unit
                message = (
                    f"departements/{unit}.yaml manquant : les fichiers du département {unit} "
                    "ont besoin de ce fichier, avec sa section « meta »"
                )
                problems.append(Problem(name, 1, 1, message))
            if len(sources) > limits.departement_files:
                message = (
                    f"trop de fichiers pour le département {unit} : {len(sources)} (au plus "
                    f"{limits.departement_files})"
                )
                problems.append(Problem(sources[0].name, 1, 1, message))
                sources = sources[: limits.departement_files]
            total = sum(_size(source.path) for source in sources)
            if total > limits.departement_bytes:
                message = (
                    f"le département {unit} a {total / MIB:.0f} Mo de fichiers (au plus "
                    f"{limits.departement_bytes // MIB} Mo, limite de sécurité) : rien n'est lu"
                )
                return [], [*problems, Problem(sources[0].name, 1, 1, message)]
        budget = limits.shared_file_bytes if unit == "commun" else limits.departement_file_bytes
        files = [self._read_one(source, budget) for source in sources]
        return files, problems

    def _read_one(self, source: _Source, budget: int) -> ParsedFile:
        try:
            stat = source.path.stat()
            if stat.st_size > budget:
                message = (
                    f"fichier trop gros : {stat.st_size / MIB:.1f} Mo (au plus {budget // MIB} "
                    "Mo, limite de sécurité)"
                )
                return _unreadable(source, "", Problem(source.name, 1, 1, message))
            digest = self.cache.digest_of(source.name, source.path, stat)
            raw = source.path.read_bytes() if digest is None else None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            problem = Problem(source.name, 1, 1, f"fichier illisible : {reason}")
            return _unreadable(source, "", problem)
        if raw is not None:
            digest = digest_bytes(raw)
            self.cache.read_as(source.name, stat, digest)
        assert digest is not None
        parsed = self.cache.parsed(source.name, digest, source.path, _HELD_TYPES)
        if parsed is None:
            if raw is None:  # forgotten since: read it after all
                raw = source.path.read_bytes()
                digest = digest_bytes(raw)
            parsed = _parse(source, raw, digest, self.limits)
            self.cache.keep_parsed(parsed)
        return parsed

    # --- checking --------------------------------------------------------------------------------

    def _check(self, part: _Part, shared: _Part | None) -> Checked:
        files = [*part.files, *(shared.files if shared is not None else [])]
        if any(parsed.broken for parsed in files):
            # References into an unreadable file cannot be checked: each would be a false
            # "unknown id". The file's own error is enough; the rest comes once it is fixed.
            return Checked((), ())
        report = Report()
        for parsed in part.files:
            report.invalid_ids |= parsed.invalid_ids
        if shared is not None:
            for parsed in shared.files:
                report.invalid_ids |= parsed.invalid_ids
        context = shared.sections if shared is not None else None
        checks.check_all(part.sections, self.gazetteer, self.today, report, shared=context)
        if shared is None:
            self._book = self._compile_rules(part.sections, report)
        else:
            self._check_service_conditions(part.sections, shared, report)
        return Checked(_sorted(report.errors), _sorted(report.warnings))

    def _compile_rules(self, sections: Sections, report: Report) -> RuleBook:
        entries: dict[str, Located[Rule]] = {}
        for entry in sections.rules:
            entries.setdefault(entry.item.id, entry)
        zones = {e.item.id: e.item for e in reversed(sections.zones)}
        try:
            return RuleBook.compile({k: e.item for k, e in entries.items()}, zones, self.gazetteer)
        except RuleError as error:
            for issue in error.issues:
                entry = entries[issue.rule_id]
                message = issue.message
                if message.startswith("zone inconnue") and "vouliez-vous dire" not in message:
                    message += (
                        " (une règle de commun/ ne voit que les zones de commun/ : pour une zone "
                        "d'un département, utilisez « dans_zone_du_service: true »)"
                    )
                report.errors.append(entry.problem(message, issue.field, *issue.path))
            return RuleBook.compile({}, zones, self.gazetteer)

    def _shared_book(self, shared: _Part) -> RuleBook:
        if self._book is None:  # the shared checks came from the cache
            self._book = self._compile_rules(shared.sections, Report())
        return self._book

    def _check_service_conditions(self, sections: Sections, shared: _Part, report: Report) -> None:
        inline = [
            (service, service.item.eligibilite.conditions)
            for service in sections.services
            if service.item.eligibilite is not None
            and service.item.eligibilite.conditions is not None
        ]
        if not inline:
            return
        book = self._shared_book(shared)
        zones = {e.item.id: e.item for e in [*shared.sections.zones, *sections.zones][::-1]}
        book = RuleBook(book.rules, book.nodes, ZoneIndex(zones, self.gazetteer))
        for service, conditions in inline:
            for issue in book.check_conditions(conditions, service.item.id):
                where = ("eligibilite", "conditions", *issue.path)
                report.errors.append(service.problem(issue.message, *where))

    def _cross_check(self, shared: _Part, parts: list[_Part]) -> None:
        """One id, one record in the whole base: a département that reuses another's id with
        different content is disabled (the first, in code order, keeps it)."""
        taken: dict[str, set[str]] = {group: set() for group in set(_ID_GROUPS.values())}
        owners: list[_Part] = []
        for part in [shared, *parts]:
            if part.errors and part is not shared:
                continue
            mine = [_ids(parsed) for parsed in part.files]
            reused = {
                (group, item_id)
                for ids in mine
                for group, found in ids.items()
                for item_id in found & taken[group]
            }
            conflicts = _conflicts(part, reused, owners) if reused else []
            if conflicts:
                part.errors += conflicts
                continue
            for ids in mine:
                for group, found in ids.items():
                    taken[group] |= found
            owners.append(part)

    # --- assembling ------------------------------------------------------------------------------

    def _assemble(
        self,
        served: list[_Part],
        warnings: tuple[Problem, ...],
        disabled: Mapping[str, tuple[Problem, ...]],
    ) -> KnowledgeBase:
        files = [(parsed, part.unit != "commun") for part in served for parsed in part.files]
        parts = [_gathered(parsed, local) for parsed, local in files]
        values = {
            spec.attribute: spec.holding.merge(
                [p[spec.attribute] for p in parts if spec.attribute in p]
            )
            for spec in _SECTIONS.values()
        }
        return KnowledgeBase(
            source_dir=self.directory, warnings=warnings, disabled=disabled, **values
        )


def _gathered(parsed: ParsedFile, local: bool) -> dict[str, Any]:
    """One file's part of each section (kept with the parsed file: a reload reuses it)."""
    if parsed.gathered is None:
        items: dict[str, list[Any]] = {}
        for entry in parsed.entries:
            items.setdefault(entry.key, []).append(entry.item)
        parsed.gathered = {
            _SECTIONS[key].attribute: _SECTIONS[key].holding.gather(found, local)
            for key, found in items.items()
        }
    return parsed.gathered


def _ids(parsed: ParsedFile) -> dict[str, frozenset[str]]:
    """The ids that must be unique in the whole base, of one file, by group (kept with it)."""
    if parsed.ids is None:
        ids: dict[str, set[str]] = {}
        for entry in parsed.entries:
            group = _ID_GROUPS.get(entry.key)
            if group is not None:
                ids.setdefault(group, set()).add(entry.item.id)
        parsed.ids = {group: frozenset(found) for group, found in ids.items()}
    return parsed.ids


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _conflicts(part: _Part, reused: set[tuple[str, str]], owners: list[_Part]) -> list[Problem]:
    """Problems for the ids of `part` already used, with other content, by one of `owners`."""
    first: dict[tuple[str, str], tuple[ParsedFile, Entry]] = {}
    for owner in owners:
        for parsed, entry in owner.entries():
            group = _ID_GROUPS.get(entry.key)
            if group is not None and (group, entry.item.id) in reused:
                first.setdefault((group, entry.item.id), (parsed, entry))
    problems = []
    for parsed, entry in part.entries():
        group = _ID_GROUPS.get(entry.key)
        found = first.get((group, entry.item.id)) if group is not None else None
        if found is not None and found[1].item != entry.item:
            problems.append(_conflict(parsed, entry, *found))
    return problems


def _conflict(parsed: ParsedFile, entry: Entry, owner: ParsedFile, first: Entry) -> Problem:
    def path(e: Entry) -> tuple[str | int, ...]:
        return (e.key,) if e.position is None else (e.key, e.position, "id")

    line, column = owner.doc.position(path(first))
    message = (
        f"identifiant « {entry.item.id} » déjà utilisé en {owner.name}:{line}:{column} avec un "
        "contenu différent : un identifiant désigne une seule fiche dans toute la base "
        "(copiez la fiche à l'identique, ou changez l'identifiant)"
    )
    return parsed.doc.problem(path(entry), message)


# --- pydantic errors in French ------------------------------------------------------------------

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
_FIELD_HINTS: Final = {
    "code_postal": "code postal à 5 chiffres, par exemple « 54000 »",
    "siret": "SIRET à 14 chiffres",
    "code_insee": "code INSEE à 5 caractères, par exemple « 54395 »",
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
        if "reason" in ctx and str(error["msg"]).startswith("value is not a valid email"):
            return f"adresse e-mail invalide pour « {field} » : {shown}"
        return str(ctx.get("error", error["msg"]))
    if kind == "avertissement":
        return f"{error['msg']} (recommandation data·inclusion)"
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
        hint = f" ({_FIELD_HINTS[field]})" if field in _FIELD_HINTS else ""
        return f"« {field} » : au moins {ctx.get('min_length')} {unit} attendu(s){hint}"
    if kind in ("too_long", "string_too_long"):
        unit = "élément(s)" if kind == "too_long" else "caractère(s)"
        hint = f", {_FIELD_HINTS[field]}" if field in _FIELD_HINTS else ""
        return (
            f"« {field} » : au plus {ctx.get('max_length')} {unit} ({_length(value)} "
            f"actuellement{hint})"
        )
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"« {field} » doit être {words} {bound}, pas {shown}"
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
