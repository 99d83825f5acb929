"""Raw data·inclusion records → records validated by the v1 models of `data-inclusion-schema`.

Values from CSV cells are strings: empty cells become missing values and list cells (JSON
arrays, Python-style lists, PostgreSQL arrays or comma-separated values) become lists. An invalid
optional field is dropped and reported; a record whose required fields are invalid is skipped and
reported. Nothing here raises on bad input.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from types import UnionType
from typing import Any, Final, Literal, Union, get_args, get_origin

from data_inclusion.schema import v1
from pydantic import BaseModel, ValidationError

Kind = Literal["structures", "services"]
Record = dict[str, Any]  # JSON-compatible values, no None

MODELS: Final[dict[Kind, type[BaseModel]]] = {"structures": v1.Structure, "services": v1.Service}


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """Something wrong with one upstream record, said for an admin."""

    where: str  # "services.csv:14", "API /services page 2, fiche 7"
    record_id: str | None
    message: str
    skipped: bool  # the record was left out (else only a field was dropped)

    def __str__(self) -> str:
        who = f" {self.record_id}" if self.record_id else ""
        return f"{self.where}:{who} {self.message}"


def _is_collection(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, set, frozenset, tuple):
        return True
    if origin in (Union, UnionType):
        return any(_is_collection(arg) for arg in get_args(annotation))
    return False


def _collection_fields(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(n for n, f in model.model_fields.items() if _is_collection(f.annotation))


LIST_FIELDS: Final[dict[Kind, frozenset[str]]] = {
    k: _collection_fields(m) for k, m in MODELS.items()
}
REQUIRED_FIELDS: Final[dict[Kind, frozenset[str]]] = {
    k: frozenset(n for n, f in m.model_fields.items() if f.is_required()) for k, m in MODELS.items()
}
_SEPARATORS = re.compile(r"\s*[,;|]\s*")


def split_list(text: str) -> list[str] | None:
    """A list cell of a CSV export, in any of the shapes seen in the wild."""
    text = text.strip()
    if not text:
        return None
    if text[0] == "[" and text[-1] == "]":
        for parse in (json.loads, ast.literal_eval):
            try:
                value = parse(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(value, list):
                return [str(v).strip() for v in value if v is not None and str(v).strip()]
        text = text[1:-1]
    elif text[0] == "{" and text[-1] == "}":  # PostgreSQL array
        text = text[1:-1]
    items = [item.strip().strip('"').strip("'").strip() for item in _SEPARATORS.split(text)]
    return [item for item in items if item]


def from_csv_row(kind: Kind, row: dict[str, str | None]) -> dict[str, Any]:
    """Empty cells dropped, list cells split; other strings are left to pydantic's coercion."""
    lists = LIST_FIELDS[kind]
    record: dict[str, Any] = {}
    for name, value in row.items():
        if name is None or value is None:
            continue
        name = name.strip().lstrip("\ufeff")
        if name in lists:
            items = split_list(value)
            if items:
                record[name] = items
        elif value.strip():
            record[name] = value.strip()
    return record


def validate(
    kind: Kind, raw: dict[str, Any], where: str
) -> tuple[Record | None, list[RecordProblem]]:
    """The record validated by the v1 model, as JSON-compatible data; and what was wrong."""
    model = MODELS[kind]
    record_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    data = {k: v for k, v in raw.items() if v is not None and v != "" and v != []}
    problems: list[RecordProblem] = []
    for _ in range(3):  # drop invalid optional fields, then validate again
        try:
            validated = model.model_validate(data)
        except ValidationError as error:
            bad = {str(e["loc"][0]): e for e in error.errors(include_url=False) if e["loc"]}
            required = sorted(set(bad) & REQUIRED_FIELDS[kind])
            if required or not bad:
                message = "; ".join(_field_message(bad[name]) for name in required) or str(error)
                problems.append(RecordProblem(where, record_id, f"fiche ignorée : {message}", True))
                return None, problems
            for name, details in sorted(bad.items()):
                problems.append(
                    RecordProblem(
                        where, record_id, f"champ ignoré : {_field_message(details)}", False
                    )
                )
                data.pop(name, None)
            continue
        return _plain(validated), problems
    return None, problems


def _field_message(details: Any) -> str:
    name = ".".join(str(x) for x in details["loc"])
    value = details.get("input")
    shown = "" if isinstance(value, (dict, list)) or value is None else f" « {str(value)[:60]} »"
    if details["type"] == "missing":
        return f"{name} manquant (missing)"
    return f"{name}{shown} invalide ({details['msg']})"


def _plain(model: BaseModel) -> Record:
    data = model.model_dump(mode="json", exclude_none=True)
    for name, value in list(data.items()):
        if isinstance(value, list):
            if value:
                data[name] = sorted(dict.fromkeys(str(v) for v in value))
            else:
                del data[name]
    return data


def ids_of(records: Iterable[Record]) -> set[str]:
    return {str(r["id"]) for r in records}
