"""Helpers shared by the data·inclusion tests: a private copy of the knowledge base and an
import run in-process on the sample files of tests/data/data_inclusion/ (written for the tests
in the published v1 shape)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_KNOWLEDGE
from bot.data_inclusion.files import find_files
from bot.data_inclusion.gather import Scope
from bot.data_inclusion.run import Importer, ImportRequest, ImportResult
from bot.kb.cache import KnowledgeCache
from bot.places import Gazetteer

SAMPLES = Path(__file__).parent / "data" / "data_inclusion"
STRUCTURES_JSON = SAMPLES / "structures-inclusion-2026-11-24.json"
SERVICES_JSON = SAMPLES / "services-inclusion-2026-11-24.json"
TODAY = dt.date(2026, 12, 1)


def copy_knowledge(target: Path) -> Path:
    """A knowledge base of our own (the shipped one), safe to write into."""
    shutil.copytree(DEFAULT_KNOWLEDGE, target)
    return target


def sample(name: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return records


def write_samples(
    directory: Path, structures: list[dict[str, Any]], services: list[dict[str, Any]]
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "structures-inclusion-2026-12-01.json").write_text(json.dumps(structures), "utf-8")
    (directory / "services-inclusion-2026-12-01.json").write_text(json.dumps(services), "utf-8")
    return directory


def run_import(
    knowledge: Path,
    gazetteer: Gazetteer,
    *sources: Path,
    departement: str = "54",
    resume: tuple[str, ...] = (),
    simulation: bool = False,
    cache: KnowledgeCache | None = None,
) -> ImportResult:
    request = ImportRequest(
        knowledge=knowledge,
        scope=Scope(departement),
        departement_name="Meurthe-et-Moselle",
        resume=resume,
        simulation=simulation,
        today=TODAY,
        cache=cache,
    )
    paths = list(sources) or [STRUCTURES_JSON, SERVICES_JSON]
    return Importer(request, gazetteer).from_files(find_files(paths))


def imported_file(knowledge: Path, departement: str = "54") -> Path:
    return knowledge / "departements" / f"{departement}-data-inclusion.yaml"
