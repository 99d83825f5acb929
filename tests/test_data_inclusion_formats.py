"""Reading the published shapes and writing YAML that reads back exactly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from bot.config import DEFAULT_KNOWLEDGE
from bot.data_inclusion.convert import OutRecord
from bot.data_inclusion.files import SourceError, find_files, read_records
from bot.data_inclusion.mapping import MAPPING_FILE, ServiceFacts, StructureFacts, load_mapping
from bot.data_inclusion.previous import fingerprint
from bot.data_inclusion.records import split_list, validate
from bot.data_inclusion.writer import document_text, record_text
from bot.kb.knowledge import KnowledgeError
from bot.kb.yamlpos import load_yaml
from tests.data_inclusion_support import SAMPLES, SERVICES_JSON


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('["a", "b"]', ["a", "b"]),
        ("['a', 'b']", ["a", "b"]),
        ("{a,b}", ["a", "b"]),
        ("a, b", ["a", "b"]),
        ("a;b|c", ["a", "b", "c"]),
        ("", None),
        ("[]", []),
    ],
)
def test_list_cells_of_csv_exports_in_every_shape_seen(
    cell: str, expected: list[str] | None
) -> None:
    assert split_list(cell) == expected


def test_a_folder_gives_its_newest_structures_and_services_files(tmp_path: Path) -> None:
    for name in ("structures-inclusion-2026-10-01.json", "structures-inclusion-2026-11-24.json",
                 "services-inclusion-2026-11-24.csv", "notes.txt"):  # fmt: skip
        (tmp_path / name).write_text("[]", encoding="utf-8")
    found = find_files([tmp_path])
    assert [p.name for p in found.structures] == ["structures-inclusion-2026-11-24.json"]
    assert [p.name for p in found.services] == ["services-inclusion-2026-11-24.csv"]
    with pytest.raises(SourceError, match="aucun fichier de services"):
        find_files([tmp_path / "structures-inclusion-2026-11-24.json"])


def test_an_api_page_saved_to_a_file_and_json_lines_are_read_too(tmp_path: Path) -> None:
    services = json.loads(SERVICES_JSON.read_text(encoding="utf-8"))
    page = tmp_path / "page.json"
    page.write_text(
        "\ufeff" + json.dumps({"items": services, "total": 12, "page": 1, "size": 12, "pages": 1}),
        encoding="utf-8",
    )
    lines = tmp_path / "services.jsonl"
    lines.write_text("\n".join(json.dumps(s) for s in services) + "\n", encoding="utf-8")
    assert [r.data for r in read_records(page)] == services
    assert [r.data for r in read_records(lines)] == services
    assert next(iter(read_records(lines))).where == "services.jsonl:1"


def test_a_truncated_json_file_is_an_error_naming_the_file_and_the_record(tmp_path: Path) -> None:
    broken = tmp_path / "services-inclusion-2026-12-01.json"
    text = SERVICES_JSON.read_text(encoding="utf-8")
    broken.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(
        SourceError, match=r"services-inclusion-2026-12-01.json : JSON mal formé après la fiche \d"
    ):
        list(read_records(broken))


def test_an_invalid_optional_field_is_dropped_and_the_record_kept() -> None:
    raw = json.loads(SERVICES_JSON.read_text(encoding="utf-8"))[1]
    record, problems = validate("services", raw, "services.json, fiche 2")
    assert record is not None and "courriel" not in record
    assert [p.skipped for p in problems] == [False]
    assert "champ ignoré : courriel « pas-un-courriel » invalide" in str(problems[0])


TRICKY = [
    "yes", "No", "null", "~", "54000", "2A", "1e3", "0x1F", "12:30", "2026-01-01", ".inf",
    "a: b", "# pas un commentaire", "- tiret", "@arobase", "`accent grave`", "guillemet \" dedans",
    "deux\nlignes", "tab\there", "  espaces  ", "Vandœuvre-lès-Nancy", "emoji 🚗",
    "\u2028séparateur", "contrôle \x85 et \x9f", "dora--AidantsConnect:2024-47BXY", "", "[liste]",
    "{dict}", "a, b",
]  # fmt: skip


def test_every_written_value_reads_back_identically() -> None:
    data = {
        "source": "dora",
        "id": "dora--x",
        "nom": "Nom",
        "date_maj": dt.date(2026, 11, 24),
        "latitude": 48.6761,
        "longitude": 6.0,
        "nombre_semaines": 12,
        "volume_horaire_hebdomadaire": 1e-05,
        "exemple": False,
        "thematiques": TRICKY,
    }
    data.update({f"champ_{i}": value for i, value in enumerate(TRICKY)})
    text = document_text(
        ["en-tête"], {"services": [record_text(OutRecord("services", "dora--x", data))]}
    )
    back = yaml.safe_load(text)["services"][0]
    assert back == data
    doc, problems = load_yaml(text, "x.yaml")  # the project's own loader agrees
    assert doc is not None and not problems
    assert doc.data["services"][0] == data
    assert fingerprint(doc.data["services"][0]) == fingerprint(data)


def test_the_shipped_mapping_maps_the_networks_and_themes_of_the_brief() -> None:
    mapping = load_mapping(DEFAULT_KNOWLEDGE / MAPPING_FILE)

    def service(
        nom: str,
        reseaux: set[str],
        thematiques: set[str],
        kind: str | None = None,
        structure: str = "",
    ) -> str | None:
        return mapping.service_category(
            ServiceFacts(
                StructureFacts("dora", structure, frozenset(reseaux)),
                nom,
                frozenset(thematiques),
                kind,
            )
        )

    assert service("Emploi", {"ai"}, set()) == "ai"
    assert service("Emploi", {"ea"}, set()) == "ea"
    assert service("Emploi", {"eatt"}, set()) == "eatt"
    assert service("Emploi", {"etcld"}, set()) == "ebe_tzcld"
    assert service("Conseil", {"mobin"}, set()) == "plateforme_mobilite"
    assert (
        service("Auto-école", {"mobin"}, {"mobilite--preparer-un-permis"}) == "auto_ecole_solidaire"
    )
    assert (
        service("Réparation", set(), {"mobilite--entretenir-reparer-son-vehicule"})
        == "garage_solidaire"
    )
    creation = {"creer-une-entreprise--developper-son-entreprise"}
    assert service("Accompagnement", set(), creation, structure="CAE Coopaname") == "cae"
    assert service("Accompagnement", set(), creation, structure="BGE de Caen") is None  # not CAE
    assert (
        mapping.referent_category(StructureFacts("dora", "Agence", frozenset({"mission-locale"})))
        == "mission_locale"
    )


def test_a_mistake_in_the_mapping_file_is_located(tmp_path: Path) -> None:
    path = tmp_path / "correspondances.yaml"
    path.write_text(
        "services:\n  - si: {thematiques: [mobilite--reparer]}\n    categorie: garrage_solidaire\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError) as error:
        load_mapping(path, "data_inclusion/correspondances.yaml")
    lines = [str(p) for p in error.value.problems]
    assert lines == [
        "data_inclusion/correspondances.yaml:2:24: thématique inconnu(e) « mobilite--reparer » "
        "— vouliez-vous dire « mobilite--preparer-un-permis » ?",
        "data_inclusion/correspondances.yaml:3:16: catégorie inconnu(e) « garrage_solidaire » "
        "— vouliez-vous dire « garage_solidaire » ?",
    ]


def test_sample_files_are_in_the_published_v1_shape() -> None:
    for path in sorted(SAMPLES.iterdir()):
        kind = "structures" if path.name.startswith("structures") else "services"
        valid = [validate(kind, r.data, r.where)[0] for r in read_records(path)]
        assert sum(v is not None for v in valid) >= 10, path.name
