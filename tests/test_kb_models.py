"""Structures and services on the data·inclusion v1 standard: validated by the package's own
models (subclassed for our few additions), held by the bot as light records of the same
fields, and exportable as valid v1 records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from data_inclusion.schema import v1 as di

from bot.kb.knowledge import KnowledgeBase
from bot.kb.loader import collect_problems
from bot.kb.models import Service, ServiceSchema, Structure, StructureSchema
from bot.places import Gazetteer
from tests.test_kb_check import DEPT, TODAY, at, write_kb

DEPT_FILE = "knowledge/departements/54.yaml"
SERVICE = {
    "source": "local",
    "id": "local--garage-reparation",
    "structure_id": "local--garage",
    "nom": "Réparation à prix solidaire",
    "description": "Réparations à petit prix.",
    "date_maj": "2026-11-01",
    "categorie": "garage_solidaire",
}


def test_the_schemas_are_the_standards_models_with_our_additions() -> None:
    assert issubclass(StructureSchema, di.Structure) and issubclass(ServiceSchema, di.Service)
    assert set(di.Structure.model_fields) <= set(StructureSchema.model_fields)
    assert set(di.Service.model_fields) <= set(ServiceSchema.model_fields)
    assert set(StructureSchema.model_fields) - set(di.Structure.model_fields) == {
        "categories", "statut", "verifie_le", "verifie_par", "notes_admin", "exemple",
        "zone_eligibilite", "zones",
    }  # fmt: skip
    assert set(ServiceSchema.model_fields) - set(di.Service.model_fields) == {
        "categorie", "statut", "zones", "eligibilite", "periode", "mots_cles",
        "langues_accueil", "frequence_maj", "exemple",
    }  # fmt: skip


def test_the_bot_holds_records_with_the_same_fields() -> None:
    assert set(Structure._fields) == set(StructureSchema.model_fields)
    assert set(Service._fields) == set(ServiceSchema.model_fields)
    service = Service.model_validate({**SERVICE, "publics": ["jeunes"], "telephone": "03 83"})
    assert isinstance(service, Service) and service.publics == ["jeunes"]
    assert service.date_maj == dt.date(2026, 11, 1) and service.telephone == "03 83"
    with pytest.raises(AttributeError):
        service.nom = "autre"  # type: ignore[misc]


def test_urls_are_checked_by_the_standard_and_kept_as_written() -> None:
    service = Service.model_validate({**SERVICE, "lien_mobilisation": "https://exémple.fr"})
    assert service.lien_mobilisation == "https://exémple.fr"  # not punycode, no final "/"


def _export(record: Structure | Service, model: type[Any]) -> Any:
    """The v1 record of one of ours: the standard's fields, lists as the sets it uses."""
    values = {
        name: set(value) if isinstance(value, list) and name != "zone_eligibilite" else value
        for name, value in record._asdict().items()
        if name in model.model_fields and value not in (None, [])
    }
    return model.model_validate(values, context={"ignore_warnings": False})


def test_every_shipped_record_is_a_valid_v1_record(knowledge: KnowledgeBase) -> None:
    for structure in [*knowledge.structures.values(), *knowledge.orienteurs]:
        assert _export(structure, di.Structure).id == structure.id
    for service in knowledge.services:
        exported = _export(service, di.Service)
        assert exported.id == service.id and exported.structure_id == service.structure_id


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "    frais: payant\n",
            "    frais: payant\n    courriel: garage@\n",
            "garage@",
            "adresse e-mail invalide pour « courriel » : « garage@ »",
        ),
        (
            "    frais: payant\n",
            "    frais: payant\n    volume_horaire_hebdomadaire: -2\n",
            "-2",
            "« volume_horaire_hebdomadaire » doit être supérieur ou égal à 0, pas « -2 »",
        ),
        (
            "[demandeurs-emploi, jeunes]",
            "[jeunes, tous-publics]",
            "[jeunes, tous-publics]",
            "`tous-publics` ne peut pas être utilisé avec d’autres valeurs.",
        ),
        (
            "    nom: Réparation à prix solidaire\n",
            "    nom: Réparation à prix solidaire\n    lien_source: pas-une-adresse\n",
            "pas-une-adresse",
            "adresse web invalide « pas-une-adresse » (attendu : https://exemple.fr/…, sans "
            "espace)",
        ),
        (
            "    date_maj: 2026-11-01\n    categorie: garage",
            "    date_maj: 1990-01-01\n    categorie: garage",
            "1990-01-01",
            "La date de dernière modification doit être au 21e siècle.",
        ),
    ],
)
def test_the_standards_rules_in_french_at_their_place(
    tmp_path: Path, gazetteer: Gazetteer, old: str, new: str, needle: str, message: str
) -> None:
    assert DEPT.count(old) == 1
    text = DEPT.replace(old, new)
    errors, _ = collect_problems(write_kb(tmp_path, departements__54_yaml=text), gazetteer,
                                 today=TODAY)  # fmt: skip
    assert [str(p) for p in errors] == [f"{at(text, needle)}: {message}"]


def test_the_standards_recommendations_are_warnings(tmp_path: Path, gazetteer: Gazetteer) -> None:
    text = DEPT.replace("nom: Garage solidaire de Nancy", "nom: Garage solidaire de Nancy.")
    errors, warnings = collect_problems(
        write_kb(tmp_path, departements__54_yaml=text), gazetteer, today=TODAY
    )
    assert errors == []
    assert [str(p) for p in warnings] == [
        f"{at(text, 'Garage solidaire de Nancy.')}: Le nom de la structure ne doit pas se "
        "terminer par un point. (recommandation data·inclusion)"
    ]
