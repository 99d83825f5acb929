"""Gather the upstream records of one département (or one commune), from files or the API.

Structures are read first and only those of the département are kept whole; services are kept
when they are in the département (their own place, else their structure's, else a
`zone_eligibilite` naming it). A kept service whose structure lies elsewhere brings that
structure in: a second pass over the files, or one API call per structure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.data_inclusion.client import ApiClient, Filters
from bot.data_inclusion.files import FileSource, RawRecord, read_records
from bot.data_inclusion.locate import Locator
from bot.data_inclusion.records import Kind, Record, RecordProblem, validate


@dataclass(frozen=True, slots=True)
class Scope:
    departement: str
    commune: str | None = None  # INSEE code: only this commune


@dataclass(slots=True)
class Upstream:
    source: str
    structures: dict[str, Record] = field(default_factory=dict)
    services: list[Record] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    read: Counter[str] = field(default_factory=Counter)  # records read, by kind
    national_remote: int = 0  # services for all of France with no place: left out


class Selector:
    def __init__(self, locator: Locator, scope: Scope) -> None:
        self.locator = locator
        self.scope = scope

    def place(self, record: Record) -> tuple[str | None, str | None]:
        """(département, INSEE code) of a record, from its own fields."""
        where = self.locator.where(record)
        commune = where.commune
        return (commune.dept, commune.insee) if commune else (None, None)

    def in_scope(self, departement: str | None, insee: str | None) -> bool:
        if self.scope.commune is not None:
            return insee == self.scope.commune
        return departement == self.scope.departement


class Gatherer:
    def __init__(self, locator: Locator, scope: Scope) -> None:
        self.selector = Selector(locator, scope)
        self.locator = locator
        self.scope = scope

    # --- the two kinds of source -------------------------------------------------------------

    def from_files(self, source: FileSource) -> Upstream:
        upstream = Upstream(f"fichiers {source.describe()}")
        self._structures(upstream, _records(source.structures, "structures"))
        missing = self._services(upstream, _records(source.services, "services"))
        if missing:
            self._missing_structures(upstream, _records(source.structures, "structures"), missing)
        return upstream

    async def from_api(self, client: ApiClient) -> Upstream:
        filters = Filters(self.scope.departement if self.scope.commune is None else None,
                          self.scope.commune)  # fmt: skip
        described = ", ".join(f"{k}={v}" for k, v in filters.params().items())
        upstream = Upstream(f"API {client.api_root} ({described})")
        structures = [r async for r in client.records("structures", filters)]
        self._structures(upstream, iter(structures))
        services = [r async for r in client.records("services", filters)]
        missing = self._services(upstream, iter(services))
        fetched = [r for r in [await client.structure(i) for i in sorted(missing)] if r]
        self._missing_structures(upstream, iter(fetched), missing)
        return upstream

    # --- selection -----------------------------------------------------------------------------

    def _structures(self, upstream: Upstream, records: Iterator[RawRecord]) -> None:
        for raw in records:
            upstream.read["structures"] += 1
            departement, insee = self.selector.place(raw.data)
            if not self.selector.in_scope(departement, insee):
                continue
            record = self._valid("structures", raw, upstream)
            if record is not None:
                upstream.structures[str(record["id"])] = record

    def _services(self, upstream: Upstream, records: Iterator[RawRecord]) -> set[str]:
        """Keeps the services in scope; returns the ids of their structures not yet kept."""
        missing: set[str] = set()
        for raw in records:
            upstream.read["services"] += 1
            if not self._service_in_scope(raw.data, upstream):
                continue
            record = self._valid("services", raw, upstream)
            if record is None:
                continue
            upstream.services.append(record)
            structure_id = str(record["structure_id"])
            if structure_id not in upstream.structures:
                missing.add(structure_id)
        return missing

    def _service_in_scope(self, data: Record, upstream: Upstream) -> bool:
        departement, insee = self.selector.place(data)
        if departement is not None:
            return self.selector.in_scope(departement, insee)
        structure_id = data.get("structure_id")
        if isinstance(structure_id, str) and structure_id in upstream.structures:
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

    def _missing_structures(
        self, upstream: Upstream, records: Iterator[RawRecord], missing: set[str]
    ) -> None:
        for raw in records:
            if raw.data.get("id") in missing:
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
