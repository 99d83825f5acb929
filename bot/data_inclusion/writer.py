"""Write records as YAML a person can review: stable order, one field a line, comments kept.

The emitter is ours because the output must be readable and diff-friendly (fields in a fixed
order, lists on one line, comments beside values) and fast at 100,000 records. Strings are left
plain only when YAML would read them back as the same string; everything else is written
double-quoted with JSON escapes, which YAML reads back identically.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import yaml

from bot.data_inclusion.convert import OutRecord

_PLAIN: Final = re.compile(r"^[^\W\d_][\w\-.]*$")
_NON_PRINTABLE: Final = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_STR_TAG: Final = "tag:yaml.org,2002:str"
_RESOLVER: Final = yaml.resolver.Resolver()


def scalar(value: Any) -> str:
    """One YAML scalar that reads back as `value` (str, bool, int, float, date)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if _PLAIN.match(text) and _resolves_to_str(text):
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


@lru_cache(maxsize=8192)
def _resolves_to_str(text: str) -> bool:
    """Whether YAML 1.1 reads this plain scalar as a string (not a number, date, bool, null)."""
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


def _float(value: float) -> str:
    text = repr(value)
    if "e" in text or "E" in text or "." not in text:
        text = f"{value:.12f}".rstrip("0")
        text = text + "0" if text.endswith(".") else text
    return text


def flow_list(values: Sequence[Any]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def record_text(record: OutRecord, indent: str = "  ") -> str:
    """The record as a block-sequence item: `  - key: value` then `    key: value` lines."""
    lines: list[str] = []
    for number, (key, value) in enumerate(record.data.items()):
        lead = f"{indent}- " if number == 0 else f"{indent}  "
        text = flow_list(value) if isinstance(value, (list, tuple)) else scalar(value)
        comment = record.comments.get(key)
        suffix = f"  # {comment}" if comment else ""
        lines.append(f"{lead}{key}: {text}{suffix}")
    return "\n".join(lines) + "\n"


def document_text(header: Iterable[str], sections: dict[str, list[str]]) -> str:
    """Comment lines, then each section with its item texts (already in their final order)."""
    parts = [f"# {line}".rstrip() + "\n" for line in header]
    for name, items in sections.items():
        parts.append("\n")
        if not items:
            parts.append(f"{name}: []\n")
            continue
        parts.append(f"{name}:\n")
        for item in items:
            parts.append(item if item.endswith("\n") else item + "\n")
    return "".join(parts)


def write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Replace `path` in one step; a temporary name the loader ignores is used meanwhile."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        out.writelines(chunks)
    os.replace(temporary, path)
