"""Turn the gathered upstream records into `departements/NN-data-inclusion.yaml`.

Steps: map each record to a category (the knowledge base's mapping file), convert it to our
format, then merge with what the previous import wrote:

- a new record is added; a record that changed upstream is replaced;
- a record no longer upstream is marked `statut: ferme`, never deleted;
- a record an admin edited (its content no longer matches its fingerprint) is kept verbatim,
  and so is a record added by hand; a record an admin deleted is not brought back;
- an id already used in another file of the knowledge base is never written again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.data_inclusion.convert import SECTIONS, Converter, OutRecord, Section
from bot.data_inclusion.gather import Scope, Upstream
from bot.data_inclusion.mapping import Mapping, ServiceFacts, StructureFacts
from bot.data_inclusion.previous import Previous, fingerprint
from bot.data_inclusion.records import Record
from bot.data_inclusion.writer import document_text, record_text

Key = tuple[Section, str]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    notes: list[str] = field(default_factory=list)  # codes dropped, coordinates filled
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


@dataclass(slots=True)
class Plan:
    text: str  # the new YAML file
    fingerprints: dict[Key, str]
    outcome: Outcome


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
    def __init__(self, mapping: Mapping, converter: Converter, scope: Scope) -> None:
        self.mapping = mapping
        self.converter = converter
        self.scope = scope
        self._still_upstream: set[str] = set()

    def plan(
        self,
        upstream: Upstream,
        previous: Previous,
        elsewhere: dict[str, str],
        *,
        target: str,
        header: list[str],
        resume: Iterable[str] = (),
        today: dt.date,
    ) -> Plan:
        outcome = Outcome(target, upstream.source, read=upstream.read)
        outcome.national_remote = upstream.national_remote
        for problem in upstream.problems:
            (outcome.invalid if problem.skipped else outcome.dropped_fields).append(str(problem))
        outcome.kept["structures"] = len(upstream.structures)
        outcome.kept["services"] = len(upstream.services)
        fresh = self._map(upstream, outcome)
        self._still_upstream = set(upstream.structures)
        return self._merge(fresh, previous, elsewhere, set(resume), outcome, target, header, today)

    # --- mapping and conversion ------------------------------------------------------------------

    def _map(self, upstream: Upstream, outcome: Outcome) -> dict[Key, OutRecord]:
        facts = {sid: _structure_facts(s) for sid, s in upstream.structures.items()}
        referents = {
            sid: cat for sid, f in facts.items() if (cat := self.mapping.referent_category(f))
        }
        categories_of: dict[str, set[str]] = {}
        services: list[tuple[Record, str]] = []
        for service in upstream.services:
            structure_id = str(service["structure_id"])
            if structure_id in referents:
                outcome.referent_services += 1
                continue
            owner = facts.get(structure_id) or StructureFacts("", "", frozenset())
            category = self.mapping.service_category(_service_facts(service, owner))
            if category is None:
                outcome.unmapped += 1
                outcome.unmapped_by_thematique.update(service.get("thematiques") or ["(aucune)"])
                outcome.unmapped_by_reseau.update(owner.reseaux_porteurs or ["(aucun)"])
                continue
            categories_of.setdefault(structure_id, set()).add(category)
            services.append((service, category))
        fresh: dict[Key, OutRecord] = {}
        for sid, structure in upstream.structures.items():
            if sid in referents:
                self._add(fresh, "orienteurs", structure, {"categories": [referents[sid]]}, outcome)
            elif sid in categories_of:
                extra = {"categories": sorted(categories_of[sid]), "statut": "actif"}
                self._add(fresh, "structures", structure, extra, outcome)
            else:
                outcome.structures_without_service += 1
        for service, category in services:
            if self._add(fresh, "services", service, {"categorie": category}, outcome):
                outcome.by_category[category] += 1
        for (section, _), record in fresh.items():
            if section == "orienteurs":
                outcome.by_category[record.data["categories"][0]] += 1
        return fresh

    def _add(
        self,
        fresh: dict[Key, OutRecord],
        section: Section,
        upstream: Record,
        extra: dict[str, Any],
        outcome: Outcome,
    ) -> bool:
        data = dict(upstream)
        if isinstance(data.get("date_maj"), str):
            data["date_maj"] = dt.date.fromisoformat(data["date_maj"])
        conversion = self.converter.convert(section, data, extra)
        record_id = str(upstream.get("id"))
        for note in conversion.notes:
            if note.startswith("coordonnées"):
                outcome.filled_coordinates += 1
            else:
                outcome.notes.append(f"{record_id} : {note}")
        if conversion.record is None:
            outcome.invalid.append(f"{record_id} : {conversion.error}")
            return False
        if not conversion.located and section != "services":
            outcome.not_located.append(record_id)
        fresh[(section, conversion.record.id)] = conversion.record
        return True

    # --- merging with the previous import -----------------------------------------------------

    def _merge(
        self,
        fresh: dict[Key, OutRecord],
        previous: Previous,
        elsewhere: dict[str, str],
        resume: set[str],
        outcome: Outcome,
        target: str,
        header: list[str],
        today: dt.date,
    ) -> Plan:
        texts: dict[Key, str] = {}
        fingerprints: dict[Key, str] = {}
        for key, record in fresh.items():
            if key[1] in elsewhere:
                outcome.elsewhere.append(f"{key[1]} ({elsewhere[key[1]]})")
                continue
            old = previous.records.get(key)
            known = previous.fingerprints.get(key)
            if key[1] in resume:
                outcome.resumed.append(key)
            elif old is not None and (known is None or previous.edited(key)):
                self._keep(key, previous, texts, fingerprints, outcome, record)
                continue
            elif old is None and known is not None:
                outcome.deleted_by_admin.append(key)
                fingerprints[key] = known
                continue
            elif old is None:
                outcome.added.append(key)
            elif fingerprint(old.data) != fingerprint(record.data):
                outcome.changed.append((key, _changed_fields(old.data, record.data)))
            else:
                outcome.unchanged += 1
            texts[key] = record_text(record)
            fingerprints[key] = fingerprint(record.data)
        for key, old in previous.records.items():
            if key in texts:
                continue
            if key[1] in elsewhere:  # moved to another file by an admin: that one wins
                if key not in fresh:
                    outcome.elsewhere.append(f"{key[1]} ({elsewhere[key[1]]})")
                continue
            known = previous.fingerprints.get(key)
            if known is None or previous.edited(key):
                self._keep(key, previous, texts, fingerprints, outcome, None)
            elif not self._in_scope(old.data) or (
                key[0] != "services" and key[1] in self._still_upstream
            ):  # outside a --commune import, or a structure upstream with no service now
                self._keep(key, previous, texts, fingerprints, outcome, None, report=False)
            else:
                closed = self._closed(key, old.data, today, outcome)
                texts[key] = record_text(closed)
                fingerprints[key] = fingerprint(closed.data)
        self._drop_orphans(texts, fingerprints, fresh, previous, elsewhere, outcome)
        sections: dict[str, list[str]] = {
            s: [texts[k] for k in sorted(k for k in texts if k[0] == s)] for s in SECTIONS
        }
        return Plan(document_text(header, sections), fingerprints, outcome)

    def _keep(
        self,
        key: Key,
        previous: Previous,
        texts: dict[Key, str],
        fingerprints: dict[Key, str],
        outcome: Outcome,
        upstream: OutRecord | None,
        *,
        report: bool = True,
    ) -> None:
        old = previous.records[key]
        text = previous.text_of(key)
        texts[key] = text if text is not None else record_text(OutRecord(key[0], key[1], old.data))
        known = previous.fingerprints.get(key)
        if known is None:
            fingerprints[key] = "main"  # added by hand: never ours
            if report:
                outcome.kept_manual.append(key)
            return
        fingerprints[key] = known
        if not report:
            outcome.unchanged += 1
            return
        if upstream is None:
            note = "retirée en amont : à fermer ou supprimer vous-même si elle n'existe plus"
        elif fingerprint(upstream.data) != known:
            changed = _changed_fields(old.data, upstream.data)
            note = "mise à jour en amont non appliquée (" + ", ".join(changed) + ")"
        else:
            note = "pas de changement en amont"
        outcome.kept_edited.append((key, note))

    def _closed(
        self, key: Key, data: dict[str, Any], today: dt.date, outcome: Outcome
    ) -> OutRecord:
        record = OutRecord(key[0], key[1], dict(data))
        if data.get("statut") != "ferme":
            outcome.closed.append(key)
            record.comments["statut"] = f"retirée de data·inclusion (import du {today.isoformat()})"
            record.data["statut"] = "ferme"
            if "statut" not in data:  # keep the field order of the format
                record.data = _with_statut_after_category(record.data)
        else:
            outcome.unchanged += 1
        return record

    def _in_scope(self, data: dict[str, Any]) -> bool:
        if self.scope.commune is None:
            return True
        return data.get("code_insee") == self.scope.commune

    def _drop_orphans(
        self,
        texts: dict[Key, str],
        fingerprints: dict[Key, str],
        fresh: dict[Key, OutRecord],
        previous: Previous,
        elsewhere: dict[str, str],
        outcome: Outcome,
    ) -> None:
        written = {k[1] for k in texts if k[0] != "services"}
        for key in [k for k in texts if k[0] == "services"]:
            record = fresh.get(key)
            data = record.data if record else previous.records[key].data
            structure_id = str(data.get("structure_id"))
            if structure_id not in written and structure_id not in elsewhere:
                del texts[key]
                fingerprints.pop(key, None)
                outcome.orphans.append(f"{key[1]} (structure {structure_id})")
                outcome.added[:] = [k for k in outcome.added if k != key]


def _with_statut_after_category(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in data.items():
        if name == "statut":
            continue
        result[name] = value
        if name in ("categorie", "categories"):
            result["statut"] = data["statut"]
    result.setdefault("statut", data["statut"])
    return result


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    names = dict.fromkeys([*old, *new])
    return [n for n in names if fingerprint({n: old.get(n)}) != fingerprint({n: new.get(n)})]


def _structure_facts(structure: Record) -> StructureFacts:
    return StructureFacts(
        str(structure.get("source", "")),
        str(structure.get("nom", "")),
        frozenset(structure.get("reseaux_porteurs") or ()),
    )


def _service_facts(service: Record, structure: StructureFacts) -> ServiceFacts:
    kind = service.get("type")
    return ServiceFacts(
        structure,
        str(service.get("nom", "")),
        frozenset(service.get("thematiques") or ()),
        str(kind) if kind else None,
    )
