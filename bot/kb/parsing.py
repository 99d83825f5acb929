"""Reading one YAML file of the knowledge base alone: text, YAML, pydantic, item by item.

What comes out depends on the file's bytes only (and the code), so it is what the compiled cache
keeps (`bot.kb.cache.ParsedFile`). Every problem is located at its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from bot.kb.cache import Entry, ParsedFile
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


def parse_file(source: Source, raw: bytes, digest: str, limits: Limits) -> ParsedFile:
    """Read and validate one file, item by item, alone (cacheable: depends on its bytes only)."""
    decoded = decode_yaml_bytes(raw, source.name)
    if isinstance(decoded, Problem):
        return unreadable(source, digest, decoded)
    doc, problems = load_yaml(decoded, source.name, limits.yaml, path=source.path)
    if doc is None:
        return unreadable(source, digest, problems[0])
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
    source: Source, doc: YamlDocument, key: object, value: Any, parsed: ParsedFile
) -> None:
    spec = SECTIONS.get(key) if isinstance(key, str) else None
    if spec is None:
        message = f"section inconnue « {key} »{suggestion(str(key), SECTIONS)}"
        parsed.errors.append(doc.problem((str(key),), message, key=True))
        return
    if source.kind not in spec.places:
        parsed.errors.append(doc.problem((spec.key,), _misplaced(spec, source), key=True))
        return
    parsed.keys.append(spec.key)
    if spec.single:
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
            items = spec.list_adapter().validate_python(chunk, context=_WARNINGS_AS_ERRORS)
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
