"""Read data·inclusion structures and services from files as published in open data.

The open-data exports are `structures-inclusion-AAAA-MM-JJ.{json,csv}` and
`services-inclusion-AAAA-MM-JJ.{json,csv}`: a JSON array of v1 records, or a CSV file with one
column per v1 field. An API page saved to a file (`{"items": [...]}`) and JSON Lines are read
too. JSON is streamed (ijson), so a national file never sits whole in memory.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import ijson  # type: ignore[import-untyped]

from bot.data_inclusion.records import Kind, from_csv_row

_SUFFIXES: Final = (".json", ".jsonl", ".ndjson", ".csv")


class SourceError(Exception):
    """A source cannot be read at all; the message says which and why, in French."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    where: str  # "services.csv:14"
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FileSource:
    """The structures file(s) and services file(s) of one import."""

    structures: tuple[Path, ...]
    services: tuple[Path, ...]

    def describe(self) -> str:
        return ", ".join(p.name for p in (*self.structures, *self.services))


def find_files(paths: Sequence[Path]) -> FileSource:
    """Files given one by one, or the newest structures and services files of a directory."""
    candidates: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates += _newest_of(path)
        elif path.is_file():
            candidates.append(path)
        else:
            raise SourceError(f"{path} : fichier ou dossier introuvable.")
    structures: list[Path] = []
    services: list[Path] = []
    for path in candidates:
        kind = _kind_of(path)
        (structures if kind == "structures" else services).append(path)
    if not services:
        raise SourceError(
            "aucun fichier de services (services-inclusion-….json ou .csv) dans "
            + ", ".join(str(p) for p in paths)
        )
    if not structures:
        raise SourceError(
            "aucun fichier de structures (structures-inclusion-….json ou .csv) dans "
            + ", ".join(str(p) for p in paths)
        )
    return FileSource(tuple(structures), tuple(services))


def _newest_of(directory: Path) -> list[Path]:
    found: dict[Kind, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() not in _SUFFIXES or not path.is_file():
            continue
        kind = _kind_from_name(path)
        if kind is not None:
            found[kind] = path  # sorted by name: the last one has the latest date
    return list(found.values())


def _kind_from_name(path: Path) -> Kind | None:
    name = path.name.lower()
    if "structure" in name:
        return "structures"
    if "service" in name:
        return "services"
    return None


def _kind_of(path: Path) -> Kind:
    kind = _kind_from_name(path)
    if kind is not None:
        return kind
    for record in read_records(path):  # a service names its structure
        return "services" if "structure_id" in record.data else "structures"
    raise SourceError(f"{path} : fichier vide, impossible de savoir s'il contient des services.")


def read_records(path: Path, kind: Kind | None = None) -> Iterator[RawRecord]:
    """Every record of one file, with where it was read. Raises SourceError if unreadable."""
    suffix = path.suffix.lower()
    try:
        with path.open("rb") as stream:
            if suffix == ".csv":
                yield from _csv_records(path, stream, kind or _kind_from_name(path) or "services")
            elif suffix in (".jsonl", ".ndjson"):
                yield from _jsonl_records(path, stream)
            else:
                yield from _json_records(path, stream)
    except OSError as error:
        raise SourceError(f"{path} : lecture impossible ({error.strerror or error}).") from error


def _json_records(path: Path, stream: IO[bytes]) -> Iterator[RawRecord]:
    first = _first_byte(stream)
    if first not in (b"[", b"{"):
        raise SourceError(f"{path} : ce n'est pas un fichier JSON de fiches (ni [ … ] ni {{ … }}).")
    prefix = "item" if first == b"[" else "items.item"
    number = 0
    try:
        for number, item in enumerate(ijson.items(stream, prefix, use_float=True), start=1):
            where = f"{path.name}, fiche {number}"
            if isinstance(item, dict):
                yield RawRecord(where, item)
            else:
                yield RawRecord(where, {"_invalide": item})
    except ijson.JSONError as error:
        raise SourceError(
            f"{path} : JSON mal formé après la fiche {number} ({error}). "
            "Les fiches lues avant ne sont pas importées : corrigez ou retéléchargez le fichier."
        ) from error


def _first_byte(stream: IO[bytes]) -> bytes:
    """Skip a UTF-8 byte-order mark and blanks; the stream is left at the first character."""
    if stream.read(3) != b"\xef\xbb\xbf":
        stream.seek(0)
    while (byte := stream.read(1)) and byte.isspace():
        pass
    if byte:
        stream.seek(-1, io.SEEK_CUR)
    return byte


def _jsonl_records(path: Path, stream: IO[bytes]) -> Iterator[RawRecord]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise SourceError(f"{path}:{number} : ligne JSON mal formée ({error}).") from error
        yield RawRecord(f"{path.name}:{number}", item if isinstance(item, dict) else {})


def _csv_records(path: Path, stream: IO[bytes], kind: Kind) -> Iterator[RawRecord]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    header = text.readline()
    reader = csv.DictReader(_chain_first(header, text), dialect=_dialect(header))
    try:
        for row in reader:
            yield RawRecord(f"{path.name}:{reader.line_num}", from_csv_row(kind, row))
    except csv.Error as error:
        raise SourceError(f"{path}:{reader.line_num} : CSV mal formé ({error}).") from error
    finally:
        text.detach()


def _dialect(header: str) -> type[csv.Dialect]:
    class Export(csv.excel):
        delimiter = ";" if header.count(";") > header.count(",") else ","

    return Export


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest
