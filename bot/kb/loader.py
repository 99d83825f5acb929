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
  are in `KnowledgeBase.disabled`, and the other départements serve as usual; on a running
  bot's reload (`keep_last_good`), the département keeps its last good version instead;
- a file that belongs to no département is ignored, with an error.

Both stages are cached by content (`bot.kb.cache`). Problems name the file (relative to the
directory's parent), line and column. Hostile files are refused (`Limits`, and the YAML limits
of `bot.kb.yamlpos`).

Adding a section is one entry in `bot.kb.sections.SECTIONS` (and its field on `KnowledgeBase`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bot.kb import checks
from bot.kb.cache import Checked, Entry, KnowledgeCache, ParsedFile, digest_bytes, paused_gc
from bot.kb.checks import GazetteerLike, Located, Report, Sections
from bot.kb.knowledge import KnowledgeBase, KnowledgeError, LoadReport, Problem
from bot.kb.layout import Source, layout, relative
from bot.kb.models import Rule
from bot.kb.parsing import DEFAULT_LIMITS_KB, MIB, Limits, parse_file, unreadable
from bot.kb.sections import HELD_TYPES, ID_GROUPS, SECTIONS
from bot.rules import DEFAULT_FACTS, RuleBook, RuleError, ZoneIndex, fact_specs

__all__ = [
    "MIB",
    "GazetteerLike",
    "Limits",
    "collect_problems",
    "load_knowledge",
    "load_with_problems",
]

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
    production: bool = False,
) -> tuple[KnowledgeBase | None, LoadReport]:
    """The knowledge base (None when the shared files have errors) and what was found.

    With `keep_last_good` (a running bot's reload), a département whose files now have errors
    keeps serving the last version of its files that loaded without error in this process (the
    cache remembers it), when there is one; it is disabled otherwise. With `production`, records
    still flagged as examples are errors (`aiguillage check --production`).
    """
    with paused_gc():
        loader = _Loader(directory, gazetteer, today or dt.date.today(), cache, limits)
        loader.production = production
        return loader.run(keep_last_good=keep_last_good)


def collect_problems(
    directory: Path,
    gazetteer: GazetteerLike,
    *,
    today: dt.date | None = None,
    cache: KnowledgeCache | None = None,
) -> tuple[list[Problem], list[Problem]]:
    """Every (error, warning) of the knowledge base, each list sorted by file and position.

    With `cache` (the base's compiled cache), what is read is written there too: a bot that
    reloads afterwards reads it from there instead of parsing it again."""
    _, report = load_with_problems(directory, gazetteer, today=today, cache=cache)
    return list(report.errors), list(report.warnings)


def _sorted(problems: Iterator[Problem] | Sequence[Problem]) -> tuple[Problem, ...]:
    unique = dict.fromkeys(problems)
    return tuple(sorted(unique, key=lambda p: (p.file, p.line, p.column, p.message)))


# --- parts: the shared files, each département --------------------------------------------------


@dataclass(slots=True)
class _Part:
    unit: str  # "commun" or a département code
    files: list[ParsedFile]
    key: str  # digest of its files (and, for a département, of the shared part)
    shared_dir: str  # the shared folder as shown in problems
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    interface: str | None = None  # the shared part's: see _interface
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
        doc = parsed.doc
        for key in parsed.keys:
            sections.anchors.setdefault(SECTIONS[key].attribute, (doc, key))
        lists: dict[str, list[Located[Any]]] = {}  # by section key (one lookup per key)
        for key, position, item in parsed.entries:
            found = lists.get(key)
            if found is None:
                found = lists[key] = sections.of(SECTIONS[key].attribute)
            found.append(Located(item, doc, key, position))
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
        self.production = False
        self._book: RuleBook | None = None
        self._shared_dir = relative(directory / "commun", directory)  # once, not for each part

    def run(self, *, keep_last_good: bool) -> tuple[KnowledgeBase | None, LoadReport]:
        found = layout(self.directory)
        if not found.shared and not found.departements:
            return None, LoadReport(False, _sorted(found.errors))
        shared = self._part("commun", *self._read("commun", found.shared), None)
        parts = [
            self._part(code, *self._read(code, sources), shared)
            for code, sources in found.departements.items()
        ]
        refused: dict[str, tuple[Problem, ...]] = {}
        if keep_last_good and not shared.errors:
            parts = [self._last_good_if_broken(part, shared, refused) for part in parts]
        self._cross_check(shared, parts)
        names = {f.name for p in [shared, *parts] for f in p.files}
        self.cache.forget_others(names, {"commun", *found.departements})
        for part in [shared, *parts]:
            if not part.errors:
                self.cache.remember_good(part.unit, part.files)
        errors = _sorted(
            [
                *found.errors,
                *shared.errors,
                *(e for p in parts for e in p.errors),
                *(e for problems in refused.values() for e in problems),
            ]
        )
        # what the files offer, a disabled département's too: its errors are reported already
        written = [p.sections for p in parts]
        unproposed = [] if shared.errors else checks.unproposed_categories(shared.sections, written)
        warnings = _sorted(
            [
                *found.warnings,
                *shared.warnings,
                *(w for p in parts for w in p.warnings),
                *unproposed,
            ]
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
            inputs.append(f"commun {_interface(shared)}")
        part_key = digest_bytes("\n".join(inputs).encode())
        part = _Part(unit, files, part_key, self._shared_dir)
        part.errors += problems
        for parsed in files:
            part.errors += parsed.errors
            part.warnings += parsed.warnings
        mode = ["production"] if self.production else []
        checks_key = self.cache.checks_key(unit, [*inputs, *mode], self.today)
        checked = self.cache.checked(unit, checks_key)
        if checked is not None and shared is not None and _cites(checked, part.shared_dir):
            checked = None  # it points into the shared files, whose positions may have moved
        if checked is None:
            checked = self._check(part, shared)
            self.cache.keep_checked(unit, checks_key, checked)
        elif not checked.errors and not checked.warnings and not _any_broken(part, shared):
            context, passed = checks.passed_records(  # none found anything: keep that
                part.sections,
                self.gazetteer,
                self.today,
                _invalid_ids(part, shared),
                shared=shared.sections if shared is not None else None,
                production=self.production,
            )
            for parsed in files:
                parsed.keep_passed(passed, context)
        part.errors += checked.errors
        part.warnings += checked.warnings
        return part

    def _read(self, unit: str, sources: list[Source]) -> tuple[list[ParsedFile], list[Problem]]:
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

    def _read_one(self, source: Source, budget: int) -> ParsedFile:
        try:
            stat = source.path.stat()
            if stat.st_size > budget:
                message = (
                    f"fichier trop gros : {stat.st_size / MIB:.1f} Mo (au plus {budget // MIB} "
                    "Mo, limite de sécurité)"
                )
                return unreadable(source, "", Problem(source.name, 1, 1, message))
            digest = self.cache.digest_of(source.name, stat)
            raw = source.path.read_bytes() if digest is None else None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            problem = Problem(source.name, 1, 1, f"fichier illisible : {reason}")
            return unreadable(source, "", problem)
        if raw is not None:
            digest = digest_bytes(raw)
            self.cache.read_as(source.name, stat, digest)
        assert digest is not None
        parsed = self.cache.parsed(source.name, digest, source.path, HELD_TYPES)
        if parsed is None:
            if raw is None:  # forgotten since: read it after all
                raw = source.path.read_bytes()
                digest = digest_bytes(raw)
            previous = self.cache.previous(source.name)
            parsed = parse_file(source, raw, digest, self.limits, previous)
            self.cache.keep_parsed(parsed)
        return parsed

    # --- checking --------------------------------------------------------------------------------

    def _check(self, part: _Part, shared: _Part | None) -> Checked:
        files = [*part.files, *(shared.files if shared is not None else [])]
        if any(parsed.broken for parsed in files):
            # References into an unreadable file cannot be checked: each would be a false
            # "unknown id". The file's own error is enough; the rest comes once it is fixed.
            return Checked((), ())
        report = Report(invalid_ids=_invalid_ids(part, shared))
        known = [(parsed.passed_context, parsed.passed_items()) for parsed in part.files]
        checks.check_all(
            part.sections,
            self.gazetteer,
            self.today,
            report,
            shared=shared.sections if shared is not None else None,
            production=self.production,
            memo=known,
        )
        for parsed in part.files:
            parsed.keep_passed(report.records_passed, report.record_context)
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
        faits = [e.item for e in sections.of("faits")]
        facts = fact_specs(faits) if faits else DEFAULT_FACTS
        try:
            return RuleBook.compile(
                {k: e.item for k, e in entries.items()}, zones, self.gazetteer, facts
            )
        except RuleError as error:
            for issue in error.issues:
                entry = entries[issue.rule_id]
                message = checks.with_declared_facts(issue.message, facts, _faits_file(sections))
                if message.startswith("zone inconnue") and "vouliez-vous dire" not in message:
                    message += (
                        " (une règle de commun/ ne voit que les zones de commun/ : pour une zone "
                        "d'un département, utilisez « dans_zone_du_service: true »)"
                    )
                report.errors.append(entry.problem(message, issue.field, *issue.path))
            return RuleBook.compile({}, zones, self.gazetteer, facts)

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
        book = RuleBook(book.rules, book.nodes, ZoneIndex(zones, self.gazetteer), book.facts)
        for service, conditions in inline:
            faits = _faits_file(shared.sections)
            for issue in book.check_conditions(conditions, service.item.id):
                where = ("eligibilite", "conditions", *issue.path)
                message = checks.with_declared_facts(issue.message, book.facts.values(), faits)
                report.errors.append(service.problem(message, *where))

    def _cross_check(self, shared: _Part, parts: list[_Part]) -> None:
        """One id, one record in the whole base: a département that reuses another's id with
        different content is disabled (the first, in code order, keeps it)."""
        taken: dict[str, set[str]] = {group: set() for group in set(ID_GROUPS.values())}
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
            for spec in SECTIONS.values()
        }
        return KnowledgeBase(
            source_dir=self.directory, warnings=warnings, disabled=disabled, **values
        )


def _invalid_ids(part: _Part, shared: _Part | None) -> set[str]:
    """The ids of the items that failed validation, of the part and the shared files."""
    files = [*part.files, *(shared.files if shared is not None else [])]
    return set().union(*(parsed.invalid_ids for parsed in files))


def _any_broken(part: _Part, shared: _Part | None) -> bool:
    files = [*part.files, *(shared.files if shared is not None else [])]
    return any(parsed.broken for parsed in files)


def _faits_file(sections: Sections) -> str:
    anchor = sections.anchors.get("faits")
    return anchor[0].file if anchor is not None else f"{sections.shared_dir}/faits.yaml"


def _cites(checked: Checked, shared_dir: str) -> bool:
    return any(shared_dir in p.message for p in (*checked.errors, *checked.warnings))


def _interface(shared: _Part) -> str:
    """A digest of what a département's checks read from the shared files: ids, categories and
    places of structures, rules and zones, failed ids. Editing an answer, the lexicon or a
    national number changes none of it, so the départements are not checked again."""
    if shared.interface is None:
        lines: list[str] = []
        for parsed in shared.files:
            lines.append(f"{parsed.name} broken={parsed.broken} {sorted(parsed.invalid_ids)}")
            for entry in parsed.entries:
                item = entry.item
                if entry.key in ("eligibility_rules", "zones"):
                    lines.append(f"{entry.key} {item.model_dump_json()}")
                elif entry.key in ("structures", "orienteurs"):  # and where (services' checks)
                    where = (item.code_insee, item.latitude, item.longitude)
                    lines.append(f"{entry.key} {item.id} {item.categories} {where}")
                elif entry.key in ("categories", "besoins"):
                    lines.append(f"{entry.key} {item.id}")
                elif entry.key == "faq":
                    lines.append(f"{entry.key} {item.id} {item.portee}")
        shared.interface = digest_bytes("\n".join(lines).encode())
    return shared.interface


def _gathered(parsed: ParsedFile, local: bool) -> dict[str, Any]:
    """One file's part of each section (kept with the parsed file: a reload reuses it)."""
    if parsed.gathered is None:
        items: dict[str, list[Any]] = {}
        for entry in parsed.entries:
            items.setdefault(entry.key, []).append(entry.item)
        parsed.gathered = {
            SECTIONS[key].attribute: SECTIONS[key].holding.gather(found, local)
            for key, found in items.items()
        }
    return parsed.gathered


def _ids(parsed: ParsedFile) -> dict[str, frozenset[str]]:
    """The ids that must be unique in the whole base, of one file, by group (kept with it)."""
    if parsed.ids is None:
        ids: dict[str, set[str]] = {}
        for key, _, item in parsed.entries:
            group = ID_GROUPS.get(key)
            if group is not None:
                ids.setdefault(group, set()).add(item.id)
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
            group = ID_GROUPS.get(entry.key)
            if group is not None and (group, entry.item.id) in reused:
                first.setdefault((group, entry.item.id), (parsed, entry))
    problems = []
    for parsed, entry in part.entries():
        group = ID_GROUPS.get(entry.key)
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
