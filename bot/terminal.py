"""Text typed by people, made safe to print in an admin's terminal.

A question someone typed may hold terminal escape sequences (ESC [ …, the C1 "CSI" U+009B),
other control characters, bidirectional overrides that reorder what is shown (U+202E), or
zero-width characters. Printed raw, they could rewrite the admin's screen or hide text. Here
each one is shown as a visible escape (`\\x1b`, `\\u202e`) instead: nothing is lost, nothing is
interpreted.
"""

from __future__ import annotations

import unicodedata

# Categories never printed as such: controls, format characters (bidi, zero-width), line and
# paragraph separators, surrogates, private use and unassigned code points.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """One line of text with every unsafe character shown as a visible escape."""
    if text.isprintable():
        return text
    return "".join(_escape(c) if _unsafe(c) else c for c in text)


def json_printable(text: str) -> str:
    """A JSON document with every unsafe character written as a JSON `\\uXXXX` escape.

    Outside strings JSON has only ASCII, so the document stays valid and decodes to the same
    values; only how it looks in a terminal changes."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char in "\n\t" or not _unsafe(char):
            out.append(char)
        elif ord(char) > 0xFFFF:  # as a surrogate pair, the way JSON spells it
            code = ord(char) - 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)
