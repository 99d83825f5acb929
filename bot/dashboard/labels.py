"""French labels for what the figures hold as ids: needs, categories, FAQ, départements, codes.

Labels are read from the knowledge base's YAML as it is on disk, without validating it, so that
the dashboard shows proper labels even while the knowledge base has an error. They are read again
when a YAML file changes. Département names come from `admin_units.csv` (every département), the
deployment files' `meta.nom` taking precedence.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.places import Gazetteer

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Needs the dialogue records that are not in besoins.yaml's menu.
_OTHER_NEEDS = {
    "information": "Information (question)",
    "hors_perimetre": "Hors du périmètre du bot",
    "urgence": "Urgence",
}
STATUSES = {
    "nouveau": "Nouvelle",
    "traite": "Traitée",
    "pris": "Prise en charge",
    "joint": "Personne jointe",
    "injoignable": "Personne pas jointe",
    "oriente": "Orientée vers une structure",
}  # the call-back lifecycle: bot/callbacks/__init__.py
PLATFORMS = {"telegram": "Telegram", "matrix": "Matrix", "console": "Terminal", "jsonl": "JSON"}


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ as written in one YAML file (the same id may be overridden per département)."""

    file: str  # relative to the knowledge folder's parent, e.g. "knowledge/commun/faq.yaml"
    id: str
    question: str
    texts: tuple[str, ...]  # question, its translations and every variant

    @property
    def choice(self) -> str:
        """The value a form posts to name this entry."""
        return f"{self.file}#{self.id}"


@dataclass(frozen=True, slots=True)
class Labels:
    needs: Mapping[str, str] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)
    faq: Mapping[str, str] = field(default_factory=dict)
    departements: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, str] = field(default_factory=dict)
    communes: Gazetteer | None = None
    faq_entries: tuple[FaqEntry, ...] = ()
    deployed: tuple[str, ...] = ()  # départements with their own file (meta)
    problems: tuple[str, ...] = ()  # files that could not be read, for a banner

    def need(self, need_id: str | None) -> str:
        if not need_id:
            return "Non précisé"
        return self.needs.get(need_id) or _OTHER_NEEDS.get(need_id) or _unknown(need_id)

    def category(self, category_id: str | None) -> str:
        if not category_id:
            return "Non précisée"
        return self.categories.get(category_id) or _unknown(category_id)

    def faq_question(self, faq_id: str | None) -> str:
        if not faq_id:
            return "Aucune"
        return self.faq.get(faq_id) or _unknown(faq_id)

    def departement(self, code: str | None) -> str:
        if not code:
            return "Non précisé"
        name = self.departements.get(code)
        return f"{code} — {name}" if name else code

    def code(self, code: str | None) -> str:
        if not code:
            return "Sans code"
        label = self.codes.get(code)
        return f"{label} ({code})" if label and label != code else code

    def commune(self, insee: str | None) -> str:
        if not insee:
            return "Non précisée"
        found = self.communes.get(insee) if self.communes is not None else None
        return f"{found.name} ({insee})" if found else insee

    def with_codes(self, codes: Mapping[str, str]) -> Labels:
        return Labels(
            self.needs,
            self.categories,
            self.faq,
            self.departements,
            codes,
            self.communes,
            self.faq_entries,
            self.deployed,
            self.problems,
        )


def _unknown(value: str) -> str:
    return f"Inconnu : {value}"


class LabelSource:
    """Labels read from the knowledge folder, read again when a YAML file changes."""

    def __init__(self, knowledge_dir: Path, communes: Gazetteer | None = None) -> None:
        self._dir = knowledge_dir
        self._communes = communes
        self._seen: tuple[tuple[str, int, int], ...] | None = None
        self._labels = Labels()

    def current(self) -> Labels:
        files = _yaml_files(self._dir)
        stamp = tuple((str(p), *_stat(p)) for p in files)
        if stamp != self._seen:
            self._labels = read_labels(self._dir, files, self._communes)
            self._seen = stamp
        return self._labels


def read_labels(
    knowledge_dir: Path, files: Iterable[Path] | None = None, communes: Gazetteer | None = None
) -> Labels:
    needs: dict[str, str] = {}
    categories: dict[str, str] = {}
    faq: dict[str, str] = {}
    local_faq: dict[str, str] = {}
    metas: dict[str, str] = {}
    entries: list[FaqEntry] = []
    problems: list[str] = []
    for path in _yaml_files(knowledge_dir) if files is None else files:
        name = _relative(path, knowledge_dir)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            problems.append(name)
            continue
        if not isinstance(data, dict):
            continue
        for item in _items(data.get("besoins")):
            _label(needs, item, "libelle")
        for item in _items(data.get("categories")):
            _label(categories, item, "libelle")
        for item in _items(data.get("faq")):
            _label(local_faq if "departements" in path.parts else faq, item, "question")
            entry = _faq_entry(name, item)
            if entry is not None:
                entries.append(entry)
        meta = data.get("meta")
        if isinstance(meta, dict) and meta.get("departement") and meta.get("nom"):
            metas[str(meta["departement"])] = str(meta["nom"])
    departements = {**_departement_names(knowledge_dir / "admin_units.csv"), **metas}
    return Labels(
        needs=needs,
        categories=categories,
        faq={**local_faq, **faq},
        departements=departements,
        communes=communes,
        faq_entries=tuple(entries),
        deployed=tuple(sorted(metas)),
        problems=tuple(problems),
    )


def _items(section: Any) -> list[dict[str, Any]]:
    return [item for item in section if isinstance(item, dict)] if isinstance(section, list) else []


def _label(target: dict[str, str], item: dict[str, Any], key: str) -> None:
    item_id, label = item.get("id"), item.get(key)
    if isinstance(item_id, str) and isinstance(label, str) and label.strip():
        target.setdefault(item_id, label.strip())


def _faq_entry(file: str, item: dict[str, Any]) -> FaqEntry | None:
    faq_id, question = item.get("id"), item.get("question")
    if not isinstance(faq_id, str) or not isinstance(question, str):
        return None
    texts = [question, str(item.get("question_en") or "")]
    variants = item.get("variantes")
    if isinstance(variants, list):
        texts += [str(v) for v in variants]
    languages = item.get("variantes_langues")
    if isinstance(languages, dict):
        for values in languages.values():
            if isinstance(values, list):
                texts += [str(v) for v in values]
    return FaqEntry(file, faq_id, question.strip(), tuple(t for t in texts if t))


def _departement_names(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as handle:
        return {
            row["code"]: row["name"]
            for row in csv.DictReader(handle)
            if row["level"] == "departement"
        }


def _yaml_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for sub in ("commun", "departements"):
        base = directory / sub
        if base.is_dir():
            found += [p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(found)


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)


def _relative(path: Path, directory: Path) -> str:
    parent = directory.resolve().parent
    try:
        return path.resolve().relative_to(parent).as_posix()
    except ValueError:
        return path.as_posix()
