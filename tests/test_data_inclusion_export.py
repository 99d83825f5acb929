"""`aiguillage export data-inclusion`: a département's curated records as valid v1 records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from data_inclusion.schema import v1

from bot.data_inclusion.exporter import export_knowledge
from bot.data_inclusion.files import read_records
from bot.data_inclusion.records import validate
from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from tests.data_inclusion_support import copy_knowledge, run_import

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_real_records_export_as_valid_v1(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    result = export_knowledge(knowledge, gazetteer, tmp_path / "out")
    assert result.ok, result.lines
    structures = json.loads((tmp_path / "out" / "structures.json").read_text(encoding="utf-8"))
    services = json.loads((tmp_path / "out" / "services.json").read_text(encoding="utf-8"))
    assert structures and services
    for record in structures:
        v1.Structure.model_validate(record, context={"ignore_warnings": False})
    for record in services:
        v1.Service.model_validate(record, context={"ignore_warnings": False})
    # Examples are never exported; our additions never leave.
    assert not any("(exemple)" in r["nom"] for r in structures)
    assert not any(
        {"categorie", "categories", "statut", "exemple", "zones"} & set(r) for r in services
    )
    ids = {r["id"] for r in structures}
    assert all(r["structure_id"] in ids for r in services)
    # What a record does not say comes from its category's data·inclusion block.
    carpool = next(r for r in services if "covoiturage" in r["id"])
    assert carpool["thematiques"] == ["mobilite--mobilite-douce-partagee-collective"]


def test_zones_are_expanded_into_zone_eligibilite_codes(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    result = export_knowledge(knowledge, gazetteer, tmp_path / "out", all_sources=True)
    ebe = [r for r in result.services if r["id"].startswith("local--58-ebe")]
    assert ebe, "the EBE 58 service is a real record"
    assert all(r.get("zone_eligibilite") for r in ebe)


def test_csv_export_reads_back_through_the_importer(
    tmp_path: Path, knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    result = export_knowledge(knowledge, gazetteer, tmp_path / "out", fmt="csv")
    assert result.ok
    back = [
        validate("services", raw.data, raw.where)[0]
        for raw in read_records(tmp_path / "out" / "services.csv", "services")
    ]
    assert back == [validate("services", r, "json")[0] for r in result.services]


def test_imported_records_are_not_sent_back_unless_asked(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    kb_dir = copy_knowledge(tmp_path / "knowledge")
    run_import(kb_dir, gazetteer)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "bot",
        "export",
        "data-inclusion",
        str(out),
        "--knowledge",
        str(kb_dir),
    ]
    default = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert default.returncode == 0, default.stderr
    assert "tous valides pour le schéma v1" in default.stdout
    ids = {r["id"] for r in json.loads((out / "services.json").read_text(encoding="utf-8"))}
    assert not any(i.startswith(("dora--", "mes-aides--")) for i in ids)
    everything = subprocess.run(
        [*command, "--toutes-sources", "--departement", "54"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert everything.returncode == 0, everything.stderr
    ids = {r["id"] for r in json.loads((out / "services.json").read_text(encoding="utf-8"))}
    assert "mes-aides--garage-toulois--reparation" in ids
