"""Export a département's curated records as data·inclusion v1 structures and services.

What is exported: active records that are not examples and, by default, only those written by
the département (`source: local`); records imported from data·inclusion are already there. Our
additions are left out; what a record does not say is filled from its category's
`data_inclusion` block (`commun/categories.yaml`) and default access; zones are expanded into
`zone_eligibilite` codes. Every record is checked with the v1 models of `data-inclusion-schema`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from data_inclusion.schema import v1
from pydantic import BaseModel, ValidationError

from bot.data_inclusion.writer import write_atomically
from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import Service, Structure
from bot.places import Gazetteer

_STRICT: Final = {"ignore_warnings": False}


@dataclass(slots=True)
class ExportResult:
    structures: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    errors: int = 0

    @property
    def ok(self) -> bool:
        return self.errors == 0


class _Exporter:
    def __init__(self, kb: KnowledgeBase, gazetteer: Gazetteer) -> None:
        self.kb = kb
        self.gazetteer = gazetteer
        self._where: dict[str, str] | None = None

    def structure(self, structure: Structure) -> dict[str, Any]:
        data = _v1_fields(structure, v1.Structure)
        if not data.get("reseaux_porteurs"):
            networks = set()
            for category in structure.categories:
                mapping = self.kb.categories.get(category)
                if mapping and len(mapping.data_inclusion.reseaux_porteurs) == 1:
                    networks.update(mapping.data_inclusion.reseaux_porteurs)
            if networks:
                data["reseaux_porteurs"] = sorted(networks)
        return data

    def service(self, service: Service) -> dict[str, Any]:
        data = _v1_fields(service, v1.Service)
        category = self.kb.categories.get(service.categorie)
        if category is not None:
            defaults = category.data_inclusion
            if "type" not in data and defaults.type:
                data["type"] = defaults.type
            if "thematiques" not in data and defaults.thematiques:
                data["thematiques"] = list(defaults.thematiques)
            if "publics" not in data and defaults.publics:
                data["publics"] = list(defaults.publics)
            access = category.acces_par_defaut
            if "mobilisable_par" not in data and access.mobilisable_par:
                data["mobilisable_par"] = list(access.mobilisable_par)
            if "modes_mobilisation" not in data and access.modes_mobilisation:
                data["modes_mobilisation"] = list(access.modes_mobilisation)
        codes = list(service.zone_eligibilite) + self._zone_codes(service.zones)
        if codes:
            data["zone_eligibilite"] = list(dict.fromkeys(codes))
        return data

    def _zone_codes(self, zone_ids: Iterable[str]) -> list[str]:
        codes: list[str] = []
        for zone_id in zone_ids:
            zone = self.kb.zones.get(zone_id)
            if zone is None:
                continue
            if zone.type == "pays":
                codes.append("france")
            elif zone.type == "region":
                depts = {c.dept for c in self.gazetteer if c.region in zone.codes}
                codes += sorted(depts)
            else:
                codes += zone.codes
        return codes

    def check(
        self, kind: str, model: type[BaseModel], data: dict[str, Any], result: ExportResult
    ) -> bool:
        try:
            model.model_validate(data, context=_STRICT)
            return True
        except ValidationError as strict:
            real = [e for e in strict.errors(include_url=False) if e["type"] != "avertissement"]
            where = self.where(str(data.get("id")))
            if not real:
                for e in strict.errors(include_url=False):
                    result.lines.append(f"{where}: attention : {data['id']} : {e['msg']}")
                return True
            for e in real:
                name = ".".join(str(x) for x in e["loc"])
                result.lines.append(
                    f"{where}: {kind} {data['id']} non exporté(e) : « {name} » invalide "
                    f"pour data·inclusion ({e['msg']})"
                )
            result.errors += 1
            return False

    def where(self, record_id: str) -> str:
        """`file:line` of a record's id in the knowledge base, for error messages."""
        if self._where is None:
            self._where = {}
            pattern = re.compile(r"^\s*-?\s*id:\s*[\"']?([^\"'#\s]+)")
            for path in sorted(self.kb.source_dir.rglob("*.y*ml")):
                relative = path.relative_to(self.kb.source_dir).as_posix()
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    found = pattern.match(line)
                    if found:
                        self._where.setdefault(found.group(1), f"{relative}:{number}")
        return self._where.get(record_id, record_id)


def _v1_fields(item: Structure | Service, model: type[BaseModel]) -> dict[str, Any]:
    """The v1 fields of a record, as JSON values (dates as ISO text), empty ones left out."""
    dumped = {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in item._asdict().items()
        if value is not None
    }
    return {
        name: value
        for name, value in dumped.items()
        if name in model.model_fields and value != [] and value != ""
    }


def export_knowledge(
    kb: KnowledgeBase,
    gazetteer: Gazetteer,
    out: Path,
    *,
    departement: str | None = None,
    fmt: str = "json",
    all_sources: bool = False,
) -> ExportResult:
    exporter = _Exporter(kb, gazetteer)
    result = ExportResult()

    def wanted(record: Structure | Service) -> bool:
        if record.exemple or record.statut != "actif":
            return False
        if not all_sources and record.source != "local":
            return False
        if departement is None:
            return True
        commune = gazetteer.get(record.code_insee) if record.code_insee else None
        return commune is not None and commune.dept == departement

    exported: set[str] = set()
    for structure in [*kb.structures.values(), *kb.orienteurs]:
        if structure.id in exported or not wanted(structure):
            continue
        data = exporter.structure(structure)
        if exporter.check("structure", v1.Structure, data, result):
            result.structures.append(data)
            exported.add(structure.id)
    for service in kb.services:
        structure_ok = service.structure_id in exported
        if not structure_ok or service.exemple or service.statut != "actif":
            continue
        if not all_sources and service.source != "local":
            continue
        data = exporter.service(service)
        if exporter.check("service", v1.Service, data, result):
            result.services.append(data)
    result.structures.sort(key=lambda r: str(r["id"]))
    result.services.sort(key=lambda r: str(r["id"]))
    out.mkdir(parents=True, exist_ok=True)
    for name, records in (("structures", result.structures), ("services", result.services)):
        path = out / f"{name}.{fmt}"
        write_atomically(path, [_json(records) if fmt == "json" else _csv(name, records)])
    result.lines.append(
        f"Export data·inclusion v1 : {len(result.structures)} structure(s) et "
        f"{len(result.services)} service(s) écrits dans {out}/ (structures.{fmt}, services.{fmt}), "
        f"tous valides pour le schéma v1. / {len(result.structures)} structures and "
        f"{len(result.services)} services exported, all valid v1."
    )
    if result.errors:
        result.lines.append(
            f"{result.errors} fiche(s) non exportée(s) : corrigez-les puis relancez. "
            f"/ {result.errors} record(s) not exported."
        )
    return result


def _json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, ensure_ascii=False, indent=1) + "\n"


def _csv(kind: str, records: list[dict[str, Any]]) -> str:
    import io

    model = v1.Structure if kind == "structures" else v1.Service
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(model.model_fields), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
                for k, v in record.items()
            }
        )
    return buffer.getvalue()
