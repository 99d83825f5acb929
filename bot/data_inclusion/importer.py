"""Turn the gathered upstream records into `departements/NN-data-inclusion.yaml`.

Steps: map each record to a category (the knowledge base's mapping file), convert it to our
format, then merge with what the previous import wrote:

- a new record is added; a record that changed upstream is replaced;
- a record no longer upstream is marked `statut: ferme`, never deleted;
- a record an admin edited (its content no longer matches its fingerprint) is kept verbatim,
  and so is a record added by hand; a record an admin deleted is not brought back;
- an id already used in another file of the knowledge base is never written again.

Services are handled one at a time as they stream in, and each record's text goes to a spool
file at once: memory holds ids and fingerprints, not records.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from bot.data_inclusion.convert import SECTIONS, Converter, OutRecord, Section
from bot.data_inclusion.gather import Scope, Upstream
from bot.data_inclusion.mapping import Mapping, ServiceFacts, StructureFacts
from bot.data_inclusion.previous import Key, Previous, fingerprint, text_hash
from bot.data_inclusion.records import Record
from bot.data_inclusion.writer import record_text

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NO_FACTS = StructureFacts("", "", frozenset())


@dataclass(slots=True)
class Outcome:
    """What one import did (or would do), for the report."""

    target: str  # "departements/54-data-inclusion.yaml"
    source: str
    read: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)  # in scope and valid, by kind
    by_category: Counter[str] = field(default_factory=Counter)
    unmapped: int = 0
    unmapped_by_thematique: Counter[str] = field(default_factory=Counter)
    unmapped_by_reseau: Counter[str] = field(default_factory=Counter)
    referent_services: int = 0
    structures_without_service: int = 0
    national_remote: int = 0
    invalid: list[str] = field(default_factory=list)  # "where: id message"
    dropped_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # codes dropped
    filled_coordinates: int = 0
    not_located: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)  # "id (file)"
    orphans: list[str] = field(default_factory=list)  # services whose structure is missing
    added: list[Key] = field(default_factory=list)
    changed: list[tuple[Key, list[str]]] = field(default_factory=list)
    closed: list[Key] = field(default_factory=list)
    unchanged: int = 0
    kept_edited: list[tuple[Key, str]] = field(default_factory=list)
    kept_manual: list[Key] = field(default_factory=list)
    deleted_by_admin: list[Key] = field(default_factory=list)
    resumed: list[Key] = field(default_factory=list)


class Spool:
    """Record texts kept in a temporary file, read back in any order for the final file."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._where: dict[Key, tuple[int, int]] = {}

    def put(self, key: Key, text: str) -> None:
        data = text.encode("utf-8")
        self._file.seek(0, os.SEEK_END)
        self._where[key] = (self._file.tell(), len(data))
        self._file.write(data)

    def get(self, key: Key) -> str:
        offset, size = self._where[key]
        self._file.seek(offset)
        return self._file.read(size).decode("utf-8")

    def drop(self, key: Key) -> None:
        del self._where[key]

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def stored(self) -> list[Key]:
        return list(self._where)

    def close(self) -> None:
        self._file.close()


@dataclass(slots=True)
class Plan:
    header: list[str]
    spool: Spool
    fingerprints: dict[Key, str]
    text_hashes: dict[Key, str]
    outcome: Outcome

    def chunks(self) -> Iterator[str]:
        """The new YAML file, piece by piece: header comments, then each section sorted by id."""
        for line in self.header:
            yield f"# {line}".rstrip() + "\n"
        for section in SECTIONS:
            keys = sorted(k for k in self.spool.stored() if k[0] == section)
            yield f"\n{section}:{'' if keys else ' []'}\n"
            for key in keys:
                text = self.spool.get(key)
                yield text if text.endswith("\n") else text + "\n"

    def text(self) -> str:
        return "".join(self.chunks())


def ids_elsewhere(knowledge: Path, target: Path) -> dict[str, str]:
    """Ids of structures, services and referents of every other YAML file, with its name."""
    found: dict[str, str] = {}
    for sub in ("commun", "departements"):
        base = knowledge / sub
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.y*ml")):
            if path.resolve() == target.resolve():
                continue
            try:
                data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # `aiguillage check` reports it
            if not isinstance(data, dict):
                continue
            for section in SECTIONS:
                for item in data.get(section) or []:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        found.setdefault(item["id"], f"{sub}/{path.name}")
    return found


class Planner:
    """One plan: decide every record, spool its text, count everything for the report."""

    def __init__(
        self,
        mapping: Mapping,
        converter: Converter,
        scope: Scope,
        previous: Previous,
        elsewhere: dict[str, str],
        *,
        resume: Iterable[str] = (),
        today: dt.date,
    ) -> None:
        self.mapping = mapping
        self.converter = converter
        self.scope = scope
        self.previous = previous
        self.elsewhere = elsewhere
        self.resume = set(resume)
        self.today = today
        self.spool = Spool()
        self.fingerprints: dict[Key, str] = {}
        self.text_hashes: dict[Key, str] = {}
        self.fresh: set[Key] = set()  # every record the upstream gave this time
        self.structure_of: dict[Key, str] = {}  # service → its structure id, for orphans
        self._referents: dict[str, str | None] = {}

    def plan(self, upstream: Upstream, *, target: str, header: list[str]) -> Plan:
        outcome = Outcome(target, upstream.source)
        categories_of: dict[str, set[str]] = {}
        for service in upstream.services:
            outcome.kept["services"] += 1
            self._service(service, upstream, categories_of, outcome)
        upstream.finish()
        outcome.read = upstream.read
        outcome.national_remote = upstream.national_remote
        outcome.kept["structures"] = len(upstream.structures)
        for sid in sorted(upstream.structures):
            self._structure(sid, upstream.structures[sid], upstream, categories_of, outcome)
        for problem in upstream.problems:
            (outcome.invalid if problem.skipped else outcome.dropped_fields).append(str(problem))
        self._previous_only(set(upstream.structures), outcome)
        self._drop_orphans(outcome)
        return Plan(header, self.spool, self.fingerprints, self.text_hashes, outcome)

    # --- upstream records ------------------------------------------------------------------------

    def _referent(self, structure_id: str, upstream: Upstream) -> str | None:
        if structure_id not in self._referents:
            facts = upstream.facts.get(structure_id, _NO_FACTS)
            self._referents[structure_id] = self.mapping.referent_category(facts)
        return self._referents[structure_id]

    def _service(
        self,
        service: Record,
        upstream: Upstream,
        categories_of: dict[str, set[str]],
        outcome: Outcome,
    ) -> None:
        structure_id = str(service["structure_id"])
        if self._referent(structure_id, upstream):
            outcome.referent_services += 1
            return
        owner = upstream.facts.get(structure_id, _NO_FACTS)
        category = self.mapping.service_category(_service_facts(service, owner))
        if category is None:
            outcome.unmapped += 1
            outcome.unmapped_by_thematique.update(service.get("thematiques") or ["(aucune)"])
            outcome.unmapped_by_reseau.update(owner.reseaux_porteurs or ["(aucun)"])
            return
        record = self._convert("services", service, {"categorie": category}, outcome)
        if record is None:
            return
        categories_of.setdefault(structure_id, set()).add(category)
        outcome.by_category[category] += 1
        self.structure_of[("services", record.id)] = structure_id
        self._decide(record, outcome)

    def _structure(
        self,
        structure_id: str,
        structure: Record,
        upstream: Upstream,
        categories_of: dict[str, set[str]],
        outcome: Outcome,
    ) -> None:
        referent = self._referent(structure_id, upstream)
        if referent:
            record = self._convert("orienteurs", structure, {"categories": [referent]}, outcome)
            if record is not None:
                outcome.by_category[referent] += 1
        elif structure_id in categories_of:
            extra = {"categories": sorted(categories_of[structure_id]), "statut": "actif"}
            record = self._convert("structures", structure, extra, outcome)
        else:
            outcome.structures_without_service += 1
            return
        if record is not None:
            self._decide(record, outcome)

    def _convert(
        self, section: Section, upstream: Record, extra: dict[str, Any], outcome: Outcome
    ) -> OutRecord | None:
        data = dict(upstream)
        if isinstance(data.get("date_maj"), str):
            data["date_maj"] = dt.date.fromisoformat(data["date_maj"])
        conversion = self.converter.convert(section, data, extra)
        record_id = str(upstream.get("id"))
        if conversion.filled:
            outcome.filled_coordinates += 1
        outcome.notes.extend(f"{record_id} : {note}" for note in conversion.notes)
        if conversion.record is None:
            outcome.invalid.append(f"{record_id} : {conversion.error}")
            return None
        if not conversion.located and section != "services":
            outcome.not_located.append(record_id)
        return conversion.record

    # --- merging with the previous import --------------------------------------------------------

    def _decide(self, record: OutRecord, outcome: Outcome) -> None:
        key: Key = (record.section, record.id)
        self.fresh.add(key)
        if record.id in self.elsewhere:
            outcome.elsewhere.append(f"{record.id} ({self.elsewhere[record.id]})")
            return
        previous = self.previous
        old = previous.records.get(key)
        known = previous.fingerprints.get(key)
        new = fingerprint(record.data)
        if record.id in self.resume:
            outcome.resumed.append(key)
        elif old is not None and (known is None or previous.edited(key)):
            self._keep(key, outcome, upstream=record)
            return
        elif old is None and known is not None:
            outcome.deleted_by_admin.append(key)
            self.fingerprints[key] = known
            return
        elif old is None:
            outcome.added.append(key)
        elif old.content != new:
            outcome.changed.append((key, _changed_fields(previous.data(key), record.data)))
        else:
            outcome.unchanged += 1
        self._put(key, record_text(record), new)

    def _put(self, key: Key, text: str, content: str) -> None:
        """Spool a record written by this import, with what recognises it next time."""
        self.spool.put(key, text)
        self.fingerprints[key] = content
        self.text_hashes[key] = text_hash(text.encode("utf-8"))

    def _keep(
        self,
        key: Key,
        outcome: Outcome,
        *,
        upstream: OutRecord | None,
        report: bool = True,
    ) -> None:
        previous = self.previous
        text = previous.text_of(key)
        if text is None:
            text = record_text(OutRecord(key[0], key[1], previous.data(key)))
        self.spool.put(key, text)
        known = previous.fingerprints.get(key)
        if key in previous.text_hashes:
            self.text_hashes[key] = previous.text_hashes[key]
        if known is None:
            self.fingerprints[key] = "main"  # added by hand: never ours
            if report:
                outcome.kept_manual.append(key)
            return
        self.fingerprints[key] = known
        if not report:
            outcome.unchanged += 1
            return
        if upstream is None:
            note = "retirée en amont : à fermer ou supprimer vous-même si elle n'existe plus"
        elif fingerprint(upstream.data) != known:
            changed = _changed_fields(previous.data(key), upstream.data)
            note = "mise à jour en amont non appliquée (" + ", ".join(changed) + ")"
        else:
            note = "pas de changement en amont"
        outcome.kept_edited.append((key, note))

    def _previous_only(self, still_upstream: set[str], outcome: Outcome) -> None:
        """Records of the previous file that upstream did not give this time."""
        previous = self.previous
        for key in previous.records:
            if key in self.fresh:
                continue
            if key[1] in self.elsewhere:  # moved to another file by an admin: that one wins
                outcome.elsewhere.append(f"{key[1]} ({self.elsewhere[key[1]]})")
                continue
            data = previous.data(key)
            if previous.fingerprints.get(key) is None or previous.edited(key):
                self._keep(key, outcome, upstream=None)
            elif (
                self._outside(data.get("code_insee"))
                or (key[0] != "services" and key[1] in still_upstream)
                or data.get("statut") == "ferme"
            ):  # outside a --commune import, or a structure upstream with no service now
                self._keep(key, outcome, upstream=None, report=False)
            else:
                closed = self._closed(key, data)
                outcome.closed.append(key)
                self._put(key, record_text(closed), fingerprint(closed.data))
            if data.get("structure_id") is not None:
                self.structure_of[key] = str(data["structure_id"])

    def _closed(self, key: Key, data: dict[str, Any]) -> OutRecord:
        record = OutRecord(key[0], key[1], _with_statut(data))
        record.comments["statut"] = f"retirée de data·inclusion (import du {self.today})"
        return record

    def _outside(self, code_insee: str | None) -> bool:
        return self.scope.commune is not None and code_insee != self.scope.commune

    def _drop_orphans(self, outcome: Outcome) -> None:
        written = {k[1] for k in self.spool.stored() if k[0] != "services"}
        for key in [k for k in self.spool.stored() if k[0] == "services"]:
            structure_id = self.structure_of.get(key)
            if structure_id is None or structure_id in written or structure_id in self.elsewhere:
                continue
            self.spool.drop(key)
            self.fingerprints.pop(key, None)
            outcome.orphans.append(f"{key[1]} (structure {structure_id})")
            outcome.added[:] = [k for k in outcome.added if k != key]


def _with_statut(data: dict[str, Any]) -> dict[str, Any]:
    """The record with `statut: ferme`, placed after its category as the format has it."""
    result: dict[str, Any] = {}
    for name, value in data.items():
        if name == "statut":
            continue
        result[name] = value
        if name in ("categorie", "categories"):
            result["statut"] = "ferme"
    result.setdefault("statut", "ferme")
    return result


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    names = dict.fromkeys([*old, *new])
    return [n for n in names if fingerprint({n: old.get(n)}) != fingerprint({n: new.get(n)})]


def _service_facts(service: Record, structure: StructureFacts) -> ServiceFacts:
    kind = service.get("type")
    return ServiceFacts(
        structure,
        str(service.get("nom", "")),
        frozenset(service.get("thematiques") or ()),
        str(kind) if kind else None,
    )
