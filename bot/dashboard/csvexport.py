"""CSV files for spreadsheet users.

Choices (also in docs/dashboard.md): UTF-8 with a byte-order mark, so that Excel reads accents
right when the file is double-clicked; `;` as separator, which French Excel and LibreOffice
expect (`,` is the French decimal mark); CRLF line ends (RFC 4180). A cell that would start with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so that a beneficiary's text
can never run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
SEPARATOR = ";"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
