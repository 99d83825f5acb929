"""Cutting a knowledge-base file into its records without parsing it, so that a reload parses
only the records whose text changed.

A file is a mapping of sections; most sections are block lists of records (`services:` then one
`- ` item per record). `cut` finds, by text alone, each top-level key and, in a block list, the
span of each item. Each item has a digest of its own text (and its section's key). When a file
changed, the records whose digest is already known keep their validated items (`reduce` makes
their lines comments: line numbers do not move), and only the rest is parsed, in a document of
the same length.

Why a cut can be trusted:

- a block list's items all start at the start of a line, with `-` at the list's indentation;
  so every true item start is a cut start, and the cut finds exactly the true items when their
  counts agree (a line that only looks like an item start, inside a multi-line quoted text, would
  make one item more);
- the counts are compared after every parse: the parse of the whole file (before its digests
  are remembered) and the parse of the reduced document (an item that would run on into blanked
  lines swallows the next kept one, or ends the document in an error);
- files with what a cut cannot follow are never cut: anchors and aliases (a record could depend
  on another), several documents, directives, complex keys, quoted top-level keys, line breaks
  other than "\n" and "\r\n" (YAML counts them as lines: positions would move).

Anything unexpected returns None: the file is then parsed whole, as before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

DIGEST_SIZE: Final = 16
NO_DIGEST: Final = bytes(DIGEST_SIZE)  # an entry that is never reused (not a clean list item)

# Top-level lines: keys, and what a cut cannot follow (several documents "---" or "...",
# directives "%", complex keys "?": they are no plain key). Items of a list at indentation 0
# ("- " or "-" alone) are found by `_items`.
# Searched in the text after a "\n" (patterns that start with a fixed character are found fast).
_TOP_LINE: Final = re.compile(r"\n((?:[^\s#-]|-(?=[^ \t\r\n]))[^\n]*)")
# Anchors and aliases (also a "*" or "&" that only looks like one: the file is then parsed
# whole): "&" or "*" after a space, "[", "{", "," or at the start of a line, then a name.
_ANCHOR_OR_ALIAS: Final = re.compile(r"[&*][^ \t\r\n]")
_BEFORE_ANCHOR: Final = frozenset(" \t[{,\n")
# Line breaks that YAML counts and a cut does not (a cut counts "\n" only, "\r\n" included).
_OTHER_LINE_BREAKS: Final = ("\x85", "\u2028", "\u2029")
_LONE_CR: Final = re.compile("\r(?!\n)")


def _other_line_breaks(text: str) -> bool:
    if any(line_break in text for line_break in _OTHER_LINE_BREAKS):
        return True
    return "\r" in text and _LONE_CR.search(text) is not None


_PLAIN_KEY: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?:[ \t]+(.*))?\r?$")
_FIRST_CONTENT: Final = re.compile(r"^( *)(\S)", re.M)  # first line that is not blank


@dataclass(frozen=True, slots=True, eq=False)
class Section:
    """One top-level key: its items' spans (start, end) if its value is a block list.

    Compared and hashed by identity: a section is a key of the cut's dicts, and hashing its
    spans (hundreds of pairs) at every look-up cost 1 % of a new release's reload."""

    key: str
    items: tuple[tuple[int, int], ...] | None  # None: not a block list (kept whole)


@dataclass(frozen=True, slots=True)
class Cut:
    text: str
    sections: tuple[Section, ...]
    _digests: dict[Section, list[bytes]] = field(default_factory=dict, compare=False)

    def digests(self, section: Section) -> list[bytes]:
        """The digest of each item's text (with its section's key), in order."""
        assert section.items is not None
        found = self._digests.get(section)
        if found is None:
            prefix, text, blake2b = f"{section.key}\n".encode(), self.text, hashlib.blake2b
            found = self._digests[section] = [
                blake2b(prefix + text[a:b].encode(), digest_size=DIGEST_SIZE).digest()
                for a, b in section.items
            ]
        return found


def _has_anchors(text: str) -> bool:
    if "&" not in text and "*" not in text:
        return False
    for found in _ANCHOR_OR_ALIAS.finditer(text):
        at = found.start()
        if at == 0 or text[at - 1] in _BEFORE_ANCHOR:
            return True
    return False


def cut(text: str) -> Cut | None:
    """The file's sections and list items, by text alone; None when it cannot be cut safely."""
    if _has_anchors(text) or _other_line_breaks(text):
        return None
    lines = "\n" + text  # a match at i in `lines` is the line that starts at i in `text`
    keys: list[tuple[str, bool, int, int]] = []  # (key, value below, line start, line end)
    for line in _TOP_LINE.finditer(lines):
        plain = _PLAIN_KEY.fullmatch(line.group(1))
        if plain is None:
            return None
        value = (plain.group(2) or "").strip()
        inline = bool(value) and not value.startswith("#")
        keys.append((plain.group(1), not inline, line.start(), line.end() - 1))
    sections = []
    for index, (key, block, _, key_end) in enumerate(keys):
        end = keys[index + 1][2] if index + 1 < len(keys) else len(text)
        items = _items(text, lines, key_end, end) if block else None
        sections.append(Section(key, items))
    return Cut(text, tuple(sections))


def _items(text: str, lines: str, begin: int, end: int) -> tuple[tuple[int, int], ...] | None:
    """The spans of the items of a block list between `begin` (the end of its key's line) and
    `end`; None when the value there is not a block list. `lines` is "\n" + `text`."""
    first = _FIRST_CONTENT.search(text, begin, end)
    while first is not None and first.group(2) == "#":
        first = _FIRST_CONTENT.search(text, first.end(), end)
    if first is None or first.group(2) != "-":
        return None
    item = re.compile(rf"\n{first.group(1)}-(?=[ \t\r\n]|\Z)")
    starts = [m.start() for m in item.finditer(lines, first.start(), end)]
    return tuple(zip(starts, [*starts[1:], end], strict=True))


def reduce(found: Cut, reused: Mapping[Section, Sequence[object | None]]) -> str:
    """The text with the lines of the reused items (those not None in `reused`, by section and
    item) made comment lines "#": line numbers do not move. (Not empty lines: a text kept with
    its trailing empty lines, "|+", would take them in.)"""
    pieces: list[str] = []
    text, at = found.text, 0
    for section in found.sections:
        flags = reused.get(section)
        if section.items is None or flags is None:
            continue
        blank_from: int | None = None  # the start of the run of reused items being passed
        for (start, end), earlier in zip(section.items, flags, strict=True):
            if earlier is not None:
                if blank_from is None:
                    pieces.append(text[at:start])
                    blank_from = start
                at = end
            elif blank_from is not None:
                pieces.append("#\n" * text.count("\n", blank_from, at))
                blank_from = None
        if blank_from is not None:  # a run ends with its section
            pieces.append("#\n" * text.count("\n", blank_from, at))
    pieces.append(text[at:])
    return "".join(pieces)
