"""What the previous import left: the YAML file as it is now, and the fingerprints of what was
written then (`NN-data-inclusion.empreintes.json`, beside it).

A record whose content no longer matches its fingerprint was edited by hand: it is kept exactly
as written (its lines are copied verbatim). A fingerprint without a record means an admin deleted
the record: it is not brought back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bot.data_inclusion.convert import SECTIONS, Section
from bot.kb.knowledge import KnowledgeError, Problem
from bot.kb.yamlpos import YamlDocument, load_yaml

STATE_FORMAT: Final = 1


def fingerprint(data: Mapping[str, Any]) -> str:
    """A short hash of a record's content (order of keys and YAML formatting do not count)."""
    canonical = json.dumps(
        data, sort_keys=True, ensure_ascii=False, default=_iso, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def _iso(value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


@dataclass(slots=True)
class PreviousRecord:
    section: Section
    id: str
    data: dict[str, Any]
    index: int  # position in its section


@dataclass(slots=True)
class Previous:
    records: dict[tuple[Section, str], PreviousRecord] = field(default_factory=dict)
    fingerprints: dict[tuple[Section, str], str] = field(default_factory=dict)
    file_exists: bool = False
    _doc: YamlDocument | None = None
    _lines: list[str] = field(default_factory=list)
    _marks: list[tuple[int, str, int]] | None = None

    def edited(self, key: tuple[Section, str]) -> bool:
        record = self.records.get(key)
        if record is None:
            return False
        return self.fingerprints.get(key) != fingerprint(record.data)

    def text_of(self, key: tuple[Section, str]) -> str | None:
        """The record's own lines, re-indented for `  - `; None if they cannot be cut out."""
        record = self.records.get(key)
        if record is None or self._doc is None:
            return None
        if self._marks is None:  # positions are composed only when a verbatim copy is needed
            self._marks = _item_lines(self._doc)
        return _item_text(self._lines, self._marks, record.section, record.index)


def state_path(yaml_path: Path) -> Path:
    return yaml_path.with_name(yaml_path.stem + ".empreintes.json")


def read_previous(yaml_path: Path, shown_as: str) -> Previous:
    """The previous import, or an empty one; raise KnowledgeError if the file is unreadable."""
    previous = Previous()
    state = state_path(yaml_path)
    if state.exists():
        previous.fingerprints = _read_state(state)
    if not yaml_path.exists():
        return previous
    previous.file_exists = True
    text = yaml_path.read_text(encoding="utf-8")
    doc, problems = load_yaml(text, shown_as)
    if doc is None or problems:
        raise KnowledgeError(problems)
    if doc.data is None:
        return previous
    if not isinstance(doc.data, dict):
        raise KnowledgeError([doc.problem((), "le fichier doit être un dictionnaire de sections")])
    previous._doc, previous._lines = doc, text.splitlines(keepends=True)
    for section in SECTIONS:
        items = doc.data.get(section) or []
        if not isinstance(items, list):
            raise KnowledgeError([doc.problem((section,), f"« {section} » doit être une liste")])
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise KnowledgeError(
                    [doc.problem((section, index), "fiche sans « id » : ajoutez-le ou retirez-la")]
                )
            previous.records[(section, item["id"])] = PreviousRecord(
                section, item["id"], item, index
            )
    return previous


def _read_state(path: Path) -> dict[tuple[Section, str], str]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        records = raw["fiches"]
        return {
            (section, record_id): str(value)
            for section in SECTIONS
            for record_id, value in records.get(section, {}).items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise KnowledgeError(
            [
                Problem(
                    path.name, 1, 1, f"empreintes illisibles ({error}) : ne modifiez pas ce fichier"
                )
            ]
        ) from error


def write_state(
    path: Path, fingerprints: Mapping[tuple[Section, str], str], about: dict[str, str]
) -> str:
    by_section: dict[str, dict[str, str]] = {s: {} for s in SECTIONS}
    for (section, record_id), value in sorted(fingerprints.items()):
        by_section[section][record_id] = value
    body = {"format": STATE_FORMAT, **about, "fiches": by_section}
    return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


# --- verbatim copies of records -----------------------------------------------------------------


def _item_lines(doc: YamlDocument) -> list[tuple[int, str, int]]:
    """(first line, section, index) of every item, and (line, "", -1) of every section key."""
    marks: list[tuple[int, str, int]] = []
    assert isinstance(doc.data, dict)
    for key, value in doc.data.items():
        marks.append((doc.position((key,), key=True)[0], "", -1))
        if key in SECTIONS and isinstance(value, list):
            marks.extend((doc.position((key, i))[0], str(key), i) for i in range(len(value)))
    marks.sort()
    return marks


def _item_text(
    lines: list[str], marks: list[tuple[int, str, int]], section: str, index: int
) -> str | None:
    for position, (line, name, number) in enumerate(marks):
        if name == section and number == index:
            end = marks[position + 1][0] if position + 1 < len(marks) else len(lines) + 1
            block = lines[line - 1 : end - 1]
            while block and not block[-1].strip():
                block.pop()
            return _reindent(block)
    return None


def _reindent(block: list[str]) -> str | None:
    """The block moved so that its dash is at column 3 (`  - `), or None if it has no dash."""
    if not block:
        return None
    first = block[0]
    dash = first.find("- ")
    if dash < 0 or first[:dash].strip():
        return None
    shift = 2 - dash
    moved: list[str] = []
    for line in block:
        if shift >= 0:
            moved.append(" " * shift + line if line.strip() else line)
        else:
            cut = -shift
            if line[:cut].strip():
                return None
            moved.append(line[cut:])
    return "".join(moved)
