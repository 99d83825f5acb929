"""Reading one YAML file of the knowledge base alone: text, YAML, pydantic, item by item.

What comes out depends on the file's bytes only (and the code), so it is what the compiled cache
keeps (`bot.kb.cache.ParsedFile`). Every problem is located at its line and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from bot.kb import segments
from bot.kb.cache import NOT_PASSED, Entry, ParsedFile
from bot.kb.checks import suggestion
from bot.kb.explain import pydantic_problem
from bot.kb.knowledge import Problem
from bot.kb.layout import Source
from bot.kb.sections import COMMUN, SECTIONS, Section
from bot.kb.yamlpos import DEFAULT_LIMITS, YamlDocument, YamlLimits, decode_yaml_bytes, load_yaml

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


_WARNINGS_AS_ERRORS: Final = {"ignore_warnings": False}  # data·inclusion's "avertissements"


def unreadable(source: Source, digest: str, problem: Problem) -> ParsedFile:
    doc = YamlDocument(source.name, None, path=source.path)
    return ParsedFile(source.name, digest, [], [problem], [], set(), [], doc, broken=True)


def parse_file(
    source: Source, raw: bytes, digest: str, limits: Limits, previous: ParsedFile | None = None
) -> ParsedFile:
    """Read and validate one file, item by item, alone (cacheable: depends on its bytes only).

    With `previous` (an earlier version of the same file), the records whose text did not change
    keep their validated items and only the others are parsed (`bot.kb.segments`); the result is
    the same as a parse of the whole file.
    """
    decoded = decode_yaml_bytes(raw, source.name)
    if isinstance(decoded, Problem):
        return unreadable(source, digest, decoded)
    found = segments.cut(decoded)
    if found is not None and previous is not None and previous.segments:
        parsed = _parse_changed(source, found, digest, limits, previous)
        if parsed is not None:
            return parsed
    doc, problems = load_yaml(decoded, source.name, limits.yaml, path=source.path)
    if doc is None:
        return unreadable(source, digest, problems[0])
    yaml_clean = not problems  # (they become the file's first errors)
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
        clean: set[tuple[str, int]] = set()
        for key, value in data.items():
            clean |= _parse_section(source, doc, key, value, parsed)
        _check_meta_placement(source, doc, parsed)
        _check_rule_sizes(doc, parsed, limits)
        if found is not None and yaml_clean and _counts_agree(found, data):
            parsed.segments = _segment_digests(parsed.entries, found, clean)
    doc.forget_text()
    return parsed


def _parse_changed(
    source: Source, found: segments.Cut, digest: str, limits: Limits, previous: ParsedFile
) -> ParsedFile | None:
    """The file parsed again where its records changed only; None when that cannot be done
    (the whole file is then parsed)."""
    known = previous.reusable()
    hits = {  # for each list item, the index of the earlier entry of the same text, if any
        section: [known.get(item_digest) for item_digest in found.digests(section)]
        for section in found.sections
        if section.items is not None
    }
    if not any(index is not None for section_hits in hits.values() for index in section_hits):
        return None
    doc, problems = load_yaml(segments.reduce(found, hits), source.name, limits.yaml)
    if doc is None or not isinstance(doc.data, dict) or not _counts_agree(found, doc.data, hits):
        return None  # a syntax error, or a record that did not end where the cut thought
    whole = YamlDocument(source.name, None, found.text, path=source.path)  # positions, if asked
    yaml_clean = not problems  # (they become the file's first errors)
    parsed = ParsedFile(source.name, digest, [], problems, [], set(), [], whole)
    clean: set[tuple[str, int]] = set()
    entries, earlier_entries = parsed.entries, previous.entries
    # for each entry: what its record checks depended on when they last found nothing, as it
    # was for a reused one (`ParsedFile.passed`); not known for the others
    passed: list[object] = []
    earlier_passed, passed_known = previous.passed, len(previous.passed)
    for section in found.sections:
        value, section_hits = doc.data[section.key], hits.get(section)
        if section_hits is None or not any(index is not None for index in section_hits):
            clean |= _parse_section(source, doc, section.key, value, parsed)
            passed += [NOT_PASSED] * (len(entries) - len(passed))
            continue
        fresh = [i for i, index in enumerate(section_hits) if index is None]
        before = len(entries)
        clean |= _parse_section(source, doc, section.key, value or [], parsed, fresh)
        parsed_now = {entry.position: entry for entry in entries[before:]}
        del entries[before:]
        for i, index in enumerate(section_hits):
            if index is not None:  # the earlier entry itself, where it has not moved
                earlier = earlier_entries[index]
                entries.append(earlier if earlier.position == i else earlier._replace(position=i))
                passed.append(earlier_passed[index] if index < passed_known else NOT_PASSED)
                clean.add((section.key, i))
            elif (entry := parsed_now.get(i)) is not None:
                entries.append(entry)
                passed.append(NOT_PASSED)
    _check_meta_placement(source, doc, parsed)
    _check_rule_sizes(whole, parsed, limits)
    parsed.passed, parsed.passed_context = passed, previous.passed_context
    if yaml_clean:
        parsed.segments = _segment_digests(parsed.entries, found, clean)
    whole.forget_text()
    return parsed


def _counts_agree(
    found: segments.Cut,
    data: dict[Any, Any],
    hits: Mapping[segments.Section, list[int | None]] | None = None,
) -> bool:
    """Whether the parsed data has the cut's sections, in order, and one list item per cut item
    (per item not reused, when `hits` says which are): then the cut's items are the true ones."""
    if list(data) != [section.key for section in found.sections]:
        return False
    for section in found.sections:
        if section.items is None:
            continue
        kept = hits[section].count(None) if hits is not None else len(section.items)
        value = data[section.key]
        if not ((isinstance(value, list) and len(value) == kept) or (value is None and not kept)):
            return False
    return True


def _segment_digests(
    entries: list[Entry], found: segments.Cut, clean: set[tuple[str, int]]
) -> bytes:
    """The digest of each entry's text, in entry order (NO_DIGEST for an entry never reused:
    not a list item, or one with a problem). The cut's keys are the data's: unique."""
    digests = {s.key: found.digests(s) for s in found.sections if s.items is not None}
    none = segments.NO_DIGEST
    return b"".join(
        digests[key][position]
        if position is not None
        and key in digests  # (a list written [...] is not cut: never reused)
        and (key, position) in clean
        else none
        for key, position, _ in entries
    )


def _parse_section(
    source: Source,
    doc: YamlDocument,
    key: object,
    value: Any,
    parsed: ParsedFile,
    positions: list[int] | None = None,
) -> set[tuple[str, int]]:
    """Validate one section into `parsed`; the (key, position) of its items found without any
    problem. `positions`: each list item's position in the file, when `value` holds only some
    of the section's items (problems are still located in `doc`, by the item's index there)."""
    spec = SECTIONS.get(key) if isinstance(key, str) else None
    if spec is None:
        message = f"section inconnue « {key} »{suggestion(str(key), SECTIONS)}"
        parsed.errors.append(doc.problem((str(key),), message, key=True))
        return set()
    if source.kind not in spec.places:
        parsed.errors.append(doc.problem((spec.key,), _misplaced(spec, source), key=True))
        return set()
    parsed.keys.append(spec.key)
    if spec.single:
        item = _validate_one(doc, spec.model, value, (spec.key,), parsed)
        if item is not None:
            parsed.entries.append(Entry(spec.key, None, spec.finish(item)))
        return set()
    if value is None:
        return set()
    if not isinstance(value, list):
        message = f"la section « {spec.key} » doit être une liste (une ligne « - » par élément)"
        parsed.errors.append(doc.problem((spec.key,), message))
        return set()
    clean: set[tuple[str, int]] = set()
    for start in range(0, len(value), _CHUNK):
        chunk = value[start : start + _CHUNK]
        try:
            items = spec.list_adapter().validate_python(chunk, context=_WARNINGS_AS_ERRORS)
            found_clean: list[int] | range = range(len(chunk))
        except ValidationError:
            items, found_clean = [], []
            for i, v in enumerate(chunk):
                problems = len(parsed.errors) + len(parsed.warnings)
                items.append(_validate_one(doc, spec.model, v, (spec.key, start + i), parsed))
                if len(parsed.errors) + len(parsed.warnings) == problems:
                    found_clean.append(i)
        at = range(start, start + len(chunk)) if positions is None else positions[start:]
        for i, item in enumerate(items):
            if item is not None:
                parsed.entries.append(Entry(spec.key, at[i], spec.finish(item)))
            elif isinstance(chunk[i], dict) and isinstance(chunk[i].get("id"), str):
                parsed.invalid_ids.add(chunk[i]["id"])
        clean.update((spec.key, at[i]) for i in found_clean)
    return clean


def _misplaced(spec: Section, source: Source) -> str:
    if spec.key == "meta":
        if source.kind == "annexe":
            return f"« meta » va dans departements/{source.unit}.yaml, pas dans un fichier annexe"
        return "« meta » n'a sa place que dans un fichier de departements/"
    if spec.places == COMMUN:
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
        problem = pydantic_problem(doc, model, path, detail)
        (parsed.warnings if detail["type"] == "avertissement" else parsed.errors).append(problem)
    if any(detail["type"] != "avertissement" for detail in details):
        return None
    return model.model_validate(value)  # only warnings: valid


def _check_meta_placement(source: Source, doc: YamlDocument, parsed: ParsedFile) -> None:
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
