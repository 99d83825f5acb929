"""Gather the upstream records of one département (or one commune), from files or the API.

Structures are read first: what the mapping needs of each (source, name, networks) is kept for
all of them, and whole records only for those of the département. Services are then streamed:
one is kept when it is in the département (its own place, else its structure's, else a
`zone_eligibilite` naming it). A kept service whose structure lies elsewhere brings that
structure in afterwards: a second pass over the files, or one API call per structure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.data_inclusion.client import ApiClient, Filters
from bot.data_inclusion.files import FileSource, RawRecord, read_records
from bot.data_inclusion.locate import Locator
from bot.data_inclusion.mapping import StructureFacts
from bot.data_inclusion.records import Kind, Record, RecordProblem, validate


@dataclass(frozen=True, slots=True)
class Scope:
    departement: str
    commune: str | None = None  # INSEE code: only this commune


@dataclass(slots=True)
class Upstream:
    """The structures of the scope, and its services as a stream (read once, in order)."""

    source: str
    services: Iterator[Record]
    finish: Callable[[], None]  # call after the services: brings in their missing structures
    structures: dict[str, Record] = field(default_factory=dict)
    facts: dict[str, StructureFacts] = field(default_factory=dict)  # of every structure read
    in_scope: set[str] = field(default_factory=set)  # structures placed in the scope
    problems: list[RecordProblem] = field(default_factory=list)
    read: Counter[str] = field(default_factory=Counter)  # records read, by kind
    national_remote: int = 0  # services for all of France with no place: left out


class Gatherer:
    def __init__(self, locator: Locator, scope: Scope) -> None:
        self.locator = locator
        self.scope = scope

    def from_files(self, source: FileSource) -> Upstream:
        upstream = Upstream(f"fichiers {source.describe()}", iter(()), lambda: None)
        self._structures(upstream, _records(source.structures, "structures"))
        missing: set[str] = set()
        upstream.services = self._services(upstream, _records(source.services, "services"), missing)
        upstream.finish = lambda: self._missing(
            upstream, _records(source.structures, "structures"), missing
        )
        return upstream

    async def from_api(self, client: ApiClient) -> Upstream:
        filters = Filters(
            None if self.scope.commune else self.scope.departement, self.scope.commune
        )
        described = ", ".join(f"{k}={v}" for k, v in filters.params().items())
        upstream = Upstream(f"API {client.api_root} ({described})", iter(()), lambda: None)
        structures = [r async for r in client.records("structures", filters)]
        self._structures(upstream, iter(structures))
        services = [r async for r in client.records("services", filters)]
        # The API filtered the services already: fetch the structures they name from elsewhere.
        missing = {
            str(r.data["structure_id"])
            for r in services
            if isinstance(r.data.get("structure_id"), str)
            and r.data["structure_id"] not in upstream.structures
        }
        fetched = [r for r in [await client.structure(i) for i in sorted(missing)] if r]
        for raw in fetched:
            self._fact(upstream, raw.data)
        self._missing(upstream, iter(fetched), missing)
        upstream.services = self._services(upstream, iter(services), set())
        return upstream

    # --- selection -------------------------------------------------------------------------------

    def _in_scope(self, record: Record) -> bool | None:
        """True or False from the record's own place; None when it has none."""
        commune = self.locator.where(record).commune
        if commune is None:
            return None
        if self.scope.commune is not None:
            return commune.insee == self.scope.commune
        return commune.dept == self.scope.departement

    def _fact(self, upstream: Upstream, data: Record) -> None:
        record_id = data.get("id")
        if isinstance(record_id, str):
            networks = data.get("reseaux_porteurs")
            upstream.facts[record_id] = StructureFacts(
                str(data.get("source") or ""),
                str(data.get("nom") or ""),
                frozenset(str(n) for n in networks) if isinstance(networks, list) else frozenset(),
            )

    def _structures(self, upstream: Upstream, records: Iterator[RawRecord]) -> None:
        for raw in records:
            upstream.read["structures"] += 1
            self._fact(upstream, raw.data)
            if self._in_scope(raw.data):
                record = self._valid("structures", raw, upstream)
                if record is not None:
                    upstream.structures[str(record["id"])] = record
                    upstream.in_scope.add(str(record["id"]))

    def _services(
        self, upstream: Upstream, records: Iterator[RawRecord], missing: set[str]
    ) -> Iterator[Record]:
        for raw in records:
            upstream.read["services"] += 1
            if not self._service_in_scope(raw.data, upstream):
                continue
            record = self._valid("services", raw, upstream)
            if record is None:
                continue
            structure_id = str(record["structure_id"])
            if structure_id not in upstream.structures:
                missing.add(structure_id)
            yield record

    def _service_in_scope(self, data: Record, upstream: Upstream) -> bool:
        placed = self._in_scope(data)
        if placed is not None:
            return placed
        if data.get("structure_id") in upstream.in_scope:
            return True
        zone = data.get("zone_eligibilite")
        codes = [str(c) for c in zone] if isinstance(zone, list) else []
        if self.scope.commune is not None:
            return self.scope.commune in codes
        if self.scope.departement in self.locator.zone_departements(codes):
            return True
        if "france" in codes or "99100" in codes:
            upstream.national_remote += 1
        return False

    def _missing(self, upstream: Upstream, records: Iterator[RawRecord], missing: set[str]) -> None:
        for raw in records:
            if raw.data.get("id") in missing and raw.data.get("id") not in upstream.structures:
                record = self._valid("structures", raw, upstream)
                if record is not None:
                    upstream.structures[str(record["id"])] = record

    def _valid(self, kind: Kind, raw: RawRecord, upstream: Upstream) -> Record | None:
        record, problems = validate(kind, raw.data, raw.where)
        upstream.problems.extend(problems)
        return record


def _records(paths: Iterable[Path], kind: Kind) -> Iterator[RawRecord]:
    for path in paths:
        yield from read_records(path, kind)
