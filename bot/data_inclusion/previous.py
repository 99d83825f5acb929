"""What the previous import left: the YAML file as it is now, and the fingerprints of what was
written then (`NN-data-inclusion.empreintes.json`, beside it).

A record whose content no longer matches its fingerprint was edited by hand: it is kept exactly
as written (its lines are copied verbatim). A fingerprint without a record means an admin deleted
the record: it is not brought back.

The file is read record by record when it has the layout the importer writes (sections at the
margin, items at `  - `): each item is parsed alone, only its fingerprint and a few fields are
kept, and its text is cut out again when needed. Any other layout is read whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from bot.data_inclusion.convert import SECTIONS, Section
from bot.kb.knowledge import KnowledgeError, Problem
from bot.kb.yamlpos import YamlDocument, load_yaml

STATE_FORMAT: Final = 1
Key = tuple[Section, str]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SECTION_LINE: Final = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\[\s*\])?\s*(#.*)?$")


def fingerprint(data: Mapping[str, Any]) -> str:
    """A short hash of a record's content (order of keys and YAML formatting do not count)."""
    canonical = json.dumps(
        data, sort_keys=True, ensure_ascii=False, default=_iso, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def text_hash(block: bytes) -> str:
    """A short hash of a record's text exactly as written (its lines, comments included)."""
    return hashlib.sha256(block).hexdigest()[:20]


def _iso(value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class PreviousRecord:
    """What is kept of a record of the previous file (its data is read again on demand)."""

    section: Section
    id: str
    content: str  # fingerprint of its content as it is now


@dataclass(slots=True)
class Previous:
    records: dict[Key, PreviousRecord] = field(default_factory=dict)
    fingerprints: dict[Key, str] = field(default_factory=dict)  # as written by the last import
    text_hashes: dict[Key, str] = field(default_factory=dict)  # of the text it wrote
    file_exists: bool = False
    _raw: bytes = b""  # the file as read (bytes: one byte a character for ASCII)
    _spans: dict[Key, tuple[int, int]] = field(default_factory=dict)  # byte offsets in _raw
    _data: dict[Key, dict[str, Any]] = field(default_factory=dict)  # whole-file reading only
    _doc: YamlDocument | None = None

    def release(self) -> None:
        """Forget the file's text (records can no longer be read again)."""
        self._raw, self._spans, self._data, self._doc = b"", {}, {}, None

    def edited(self, key: Key) -> bool:
        record = self.records.get(key)
        return record is not None and self.fingerprints.get(key) != record.content

    def data(self, key: Key) -> dict[str, Any]:
        if key in self._data:
            return self._data[key]
        start, end = self._spans[key]
        parsed = yaml.load(_dedent_item(self._raw[start:end].decode("utf-8")), Loader=_Loader)
        item: dict[str, Any] = parsed[0]
        return item

    def text_of(self, key: Key) -> str | None:
        """The record's own lines, re-indented for `  - `; None if they cannot be cut out."""
        if key in self._spans:
            start, end = self._spans[key]
            return self._raw[start:end].decode("utf-8")
        if self._doc is None or key not in self.records:
            return None
        return _cut_from_document(self._doc, self._raw.decode("utf-8"), key)


def state_path(yaml_path: Path) -> Path:
    return yaml_path.with_name(yaml_path.stem + ".empreintes.json")


def read_previous(yaml_path: Path, shown_as: str) -> Previous:
    """The previous import, or an empty one; raise KnowledgeError if the file is unreadable."""
    previous = Previous()
    state = state_path(yaml_path)
    if state.exists():
        previous.fingerprints, previous.text_hashes = _read_state(state)
    if not yaml_path.exists():
        return previous
    previous.file_exists = True
    previous._raw = yaml_path.read_bytes()
    if not _read_by_items(previous, shown_as):
        _read_whole(previous, shown_as)
    return previous


def _remember(previous: Previous, section: Section, item: dict[str, Any]) -> Key:
    key: Key = (section, item["id"])
    previous.records[key] = PreviousRecord(section, item["id"], fingerprint(item))
    return key


# --- the importer's own layout, item by item ------------------------------------------------


def _read_by_items(previous: Previous, shown_as: str) -> bool:
    """Parse each `  - ` item alone; False when the layout is not ours (read it whole then)."""
    records: dict[Key, PreviousRecord] = {}
    spans: dict[Key, tuple[int, int]] = {}
    saved = previous.records
    previous.records = records
    try:
        for section, start, end in _items(previous._raw):
            if section is None:
                return False
            quick = _quick_id(previous._raw[start:end])
            if quick is not None and (section, quick) not in records:
                key: Key = (section, quick)
                written = previous.text_hashes.get(key)
                if written is not None and written == text_hash(previous._raw[start:end]):
                    # exactly the text the last import wrote: no need to parse it again
                    records[key] = PreviousRecord(section, quick, previous.fingerprints[key])
                    spans[key] = (start, end)
                    continue
            try:
                block = previous._raw[start:end].decode("utf-8")
                parsed = yaml.load(_dedent_item(block), Loader=_Loader)
            except (UnicodeDecodeError, yaml.YAMLError):
                return False
            if not (isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], dict)):
                return False
            item = parsed[0]
            if not isinstance(item.get("id"), str) or (section, item["id"]) in records:
                return False
            spans[_remember(previous, section, item)] = (start, end)
        previous._spans = spans
        return True
    finally:
        if not previous._spans:
            previous.records = saved


_BOUNDARY: Final = re.compile(rb"^(?:  - |[A-Za-z_])", re.MULTILINE)


def _items(raw: bytes) -> Iterator[tuple[Section | None, int, int]]:
    """(section, start, end) of every item; (None, 0, 0) at anything unexpected.

    Items start at `  - `, sections at the margin; what lies between belongs to the item above
    (trailing blank lines left out). Each block is then checked by its hash or by parsing it.
    """
    section: str | None = None
    marks = [m.start() for m in _BOUNDARY.finditer(raw)]
    for number, start in enumerate(marks):
        end = marks[number + 1] if number + 1 < len(marks) else len(raw)
        if raw.startswith(b"  - ", start):
            if section is None:
                yield None, 0, 0
                return
            while end > start and raw[end - 2 : end] == b"\n\n":
                end -= 1
            yield _section(section), start, end
            continue
        line_end = raw.find(b"\n", start, end)
        line = raw[start : end if line_end < 0 else line_end].decode("utf-8", "replace")
        found = _SECTION_LINE.match(line.rstrip("\r"))
        if found is None:
            yield None, 0, 0
            return
        section = found.group(1)


_ID_LINE: Final = re.compile(rb"^(?:  - |    )id: *(.*?) *(?:#[^\n]*)?$", re.MULTILINE)


def _quick_id(block: bytes) -> str | None:
    """The item's id read from its `id:` line without parsing the YAML (our layout only)."""
    found = _ID_LINE.search(block)
    if found is None:
        return None
    value = found.group(1).decode("utf-8", "replace")
    if value.startswith('"'):
        try:
            parsed, _ = json.JSONDecoder().raw_decode(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, str) else None
    return value or None


def _section(name: str | None) -> Section | None:
    for section in SECTIONS:
        if name == section:
            return section
    return None


def _dedent_item(block: str) -> str:
    return "".join(line[2:] if line.startswith("  ") else line for line in block.splitlines(True))


# --- any other layout: the whole file at once --------------------------------------------------


def _read_whole(previous: Previous, shown_as: str) -> None:
    try:
        text = previous._raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise KnowledgeError([Problem(shown_as, 1, 1, f"fichier illisible : {error}")]) from error
    doc, problems = load_yaml(text, shown_as)
    if doc is None or problems:
        raise KnowledgeError(problems)
    if doc.data is None:
        return
    if not isinstance(doc.data, dict):
        raise KnowledgeError([doc.problem((), "le fichier doit être un dictionnaire de sections")])
    previous._doc = doc
    for section in SECTIONS:
        items = doc.data.get(section) or []
        if not isinstance(items, list):
            raise KnowledgeError([doc.problem((section,), f"« {section} » doit être une liste")])
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise KnowledgeError(
                    [doc.problem((section, index), "fiche sans « id » : ajoutez-le ou retirez-la")]
                )
            previous._data[_remember(previous, section, item)] = item


def _cut_from_document(doc: YamlDocument, text: str, key: Key) -> str | None:
    assert isinstance(doc.data, dict)
    items = doc.data.get(key[0]) or []
    index = next(i for i, item in enumerate(items) if item.get("id") == key[1])
    lines = text.splitlines(keepends=True)
    marks = sorted(
        [doc.position((k,), key=True)[0] for k in doc.data]
        + [doc.position((s, i))[0] for s in SECTIONS for i in range(len(doc.data.get(s) or []))]
    )
    line = doc.position((key[0], index))[0]
    later = [m for m in marks if m > line]
    block = lines[line - 1 : (later[0] - 1) if later else len(lines)]
    while block and not block[-1].strip():
        block.pop()
    return _reindent(block)


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


# --- fingerprints file -----------------------------------------------------------------------


def _read_state(path: Path) -> tuple[dict[Key, str], dict[Key, str]]:
    """(fingerprints of the content, hashes of the text) of what the last import wrote."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        records = raw["fiches"]
        contents: dict[Key, str] = {}
        texts: dict[Key, str] = {}
        for section in SECTIONS:
            for record_id, value in records.get(section, {}).items():
                content, _, text = str(value).partition(" ")
                contents[(section, record_id)] = content
                if text:
                    texts[(section, record_id)] = text
        return contents, texts
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        message = f"empreintes illisibles ({error}) : ne modifiez pas ce fichier"
        raise KnowledgeError([Problem(path.name, 1, 1, message)]) from error


def state_text(
    fingerprints: Mapping[Key, str], text_hashes: Mapping[Key, str], about: dict[str, str]
) -> str:
    """The fingerprints file: for each record, "content-fingerprint text-hash"."""
    by_section: dict[str, dict[str, str]] = {s: {} for s in SECTIONS}
    for key, value in sorted(fingerprints.items()):
        text = text_hashes.get(key)
        by_section[key[0]][key[1]] = f"{value} {text}" if text else value
    body = {"format": STATE_FORMAT, **about, "fiches": by_section}
    return json.dumps(body, ensure_ascii=False, indent=1) + "\n"
