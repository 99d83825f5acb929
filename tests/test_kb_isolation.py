"""One département never blocks another: each département's files are checked and loaded on
their own, and an error disables that département only. The shared files stay global."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.kb.cache import KnowledgeCache
from bot.kb.check_cli import run_check
from bot.kb.knowledge import KnowledgeError
from bot.kb.loader import load_with_problems
from bot.places import Gazetteer
from tests.test_kb_check import DEPT, TODAY, at, write_kb

DEPT57 = """\
meta:
  departement: "57"
  nom: Moselle
  date_maj: 2026-11-01
structures:
  - source: local
    id: local--metz-garage
    nom: Garage solidaire de Metz
    date_maj: 2026-11-01
    code_insee: "57463"
    categories: [garage_solidaire]
services:
  - source: local
    id: local--metz-garage-reparation
    structure_id: local--metz-garage
    nom: Réparation à prix solidaire
    description: Réparations à petit prix.
    date_maj: 2026-11-01
    categorie: garage_solidaire
    modes_accueil: [en-presentiel]
"""

IMPORT54 = """\
structures:
  - source: dora
    id: dora--cae-nancy
    nom: CAE de Nancy
    date_maj: 2026-11-01
    code_insee: "54395"
    categories: [cae]
services:
  - source: dora
    id: dora--cae-nancy-accompagnement
    structure_id: dora--cae-nancy
    nom: Tester son activité
    description: Un statut d'entrepreneur salarié.
    date_maj: 2026-11-01
    categorie: cae
  - source: dora
    id: dora--garage-nancy-atelier
    structure_id: local--garage
    nom: Atelier d'autoréparation
    description: Réparez vous-même, avec un mécanicien.
    date_maj: 2026-11-01
    categorie: garage_solidaire
"""

FILE57 = "knowledge/departements/57.yaml"


def two_departements(tmp_path: Path, **replace: str) -> Path:
    return write_kb(tmp_path, **{"departements__57_yaml": DEPT57, **replace})


def load(root: Path, gazetteer: Gazetteer, cache: KnowledgeCache | None = None):  # type: ignore[no-untyped-def]
    return load_with_problems(root, gazetteer, today=TODAY, cache=cache)


def test_a_yaml_typo_in_one_departement_is_reported_there_only(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    broken = DEPT.replace("  nom: Meurthe-et-Moselle", "  nom: Meurthe: et Moselle")
    root = two_departements(tmp_path, departements__54_yaml=broken)
    kb, report = load(root, gazetteer)
    assert [str(p) for p in report.errors] == [
        f"{at(broken, ': et Moselle')}: YAML mal formé : « : » inattendu (une valeur contenant "
        "« : » doit être entre guillemets, ou l'indentation est fausse)"
    ]
    assert kb is not None and set(kb.disabled) == {"54"} and set(kb.metas) == {"57"}
    assert set(kb.structures) == {"local--metz-garage"}
    assert [s.id for s in kb.services] == ["local--metz-garage-reparation"]
    assert kb.disabled["54"] == report.errors
    assert set(kb.faq) and set(kb.rules) == {"iae", "tzcld"}  # the shared answers stay


def test_a_departement_cannot_use_another_departements_records(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    dept57 = DEPT57.replace("structure_id: local--metz-garage", "structure_id: local--garage")
    dept57 = dept57.replace("modes_accueil: [en-presentiel]", "zones: [tzcld-colombey]")
    root = two_departements(tmp_path, departements__57_yaml=dept57)
    kb, report = load(root, gazetteer)
    assert [str(p) for p in report.errors] == [
        f"{at(dept57, 'local--garage', file=FILE57)}: structure inconnue « local--garage » — "
        "vouliez-vous dire « local--metz-garage » ?",
        f"{at(dept57, 'tzcld-colombey', file=FILE57)}: zone inconnue « tzcld-colombey »",
    ]
    assert kb is not None and set(kb.disabled) == {"57"} and set(kb.metas) == {"54"}


def test_national_structures_in_the_shared_files_serve_every_departement(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    national = (
        "structures:\n  - source: local\n    id: local--mobicoop\n    nom: Mobicoop\n"
        "    date_maj: 2026-11-01\n    categories: [covoiturage_solidaire]\n"
    )
    service = (
        "  - source: local\n    id: local--mobicoop-{d}\n    structure_id: local--mobicoop\n"
        "    nom: Covoiturage\n    description: Sans commission.\n    date_maj: 2026-11-01\n"
        "    categorie: covoiturage_solidaire\n    modes_accueil: [a-distance]\n"
    )
    root = two_departements(
        tmp_path,
        commun__structures_yaml=national,
        departements__54_yaml=DEPT.replace("orienteurs:", service.format(d=54) + "orienteurs:"),
        departements__57_yaml=DEPT57 + service.format(d=57),
    )
    kb, report = load(root, gazetteer)
    assert report.ok and kb is not None and not kb.disabled
    mobicoop = [s.id for s in kb.services if s.structure_id == "local--mobicoop"]
    assert mobicoop == ["local--mobicoop-54", "local--mobicoop-57"]


def test_an_import_file_adds_records_to_its_departement(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = write_kb(tmp_path, **{"departements__54-data-inclusion_yaml": IMPORT54})
    kb, report = load(root, gazetteer)
    assert report.ok and kb is not None
    assert {"dora--cae-nancy", "local--garage"} <= set(kb.structures)
    assert "dora--garage-nancy-atelier" in {s.id for s in kb.services}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            'meta:\n  departement: "54"\n  nom: x\n  date_maj: 2026-11-01\n',
            "knowledge/departements/54-data-inclusion.yaml:1:1: « meta » va dans "
            "departements/54.yaml, pas dans un fichier annexe",
        ),
        (
            "faq: []\n",
            "knowledge/departements/54-data-inclusion.yaml:1:1: la section « faq » va dans "
            "departements/54.yaml",
        ),
        (
            "categories: []\n",
            "knowledge/departements/54-data-inclusion.yaml:1:1: la section « categories » n'a sa "
            "place que dans commun/ (elle est partagée par tous les départements)",
        ),
    ],
)
def test_an_import_file_holds_only_records(
    tmp_path: Path, gazetteer: Gazetteer, extra: str, message: str
) -> None:
    root = write_kb(tmp_path, **{"departements__54-data-inclusion_yaml": extra + IMPORT54})
    kb, report = load(root, gazetteer)
    assert [str(p) for p in report.errors] == [message]
    assert kb is not None and set(kb.disabled) == {"54"}


def test_records_of_a_departement_without_its_main_file(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    records = "structures:" + DEPT57.split("structures:")[1]
    root = write_kb(tmp_path, **{"departements__57-import_yaml": records})
    kb, report = load(root, gazetteer)
    assert [str(p) for p in report.errors] == [
        "knowledge/departements/57-import.yaml:1:1: departements/57.yaml manquant : les fichiers "
        "du département 57 ont besoin de ce fichier, avec sa section « meta »"
    ]
    assert kb is not None and set(kb.disabled) == {"57"} and set(kb.metas) == {"54"}


def test_a_file_of_no_departement_is_ignored_with_an_error(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = write_kb(tmp_path, departements__meurthe_yaml=DEPT)
    kb, report = load(root, gazetteer)
    assert [str(p) for p in report.errors] == [
        "knowledge/departements/meurthe.yaml:1:1: fichier ignoré : « meurthe.yaml » ne commence "
        "pas par un numéro de département (« 54.yaml », « 54-data-inclusion.yaml », « 2A.yaml »…)"
    ]
    assert kb is not None and not kb.disabled and set(kb.metas) == {"54"}
    out = io.StringIO()
    assert run_check(root, gazetteer, out, today=TODAY) == 1


def test_one_record_in_two_departements(tmp_path: Path, gazetteer: Gazetteer) -> None:
    garage = DEPT.split("structures:\n")[1].split("  - source: local\n    id: local--chantier")[0]
    same = DEPT57.replace("structures:\n", "structures:\n" + garage)
    root = two_departements(tmp_path, departements__57_yaml=same)
    kb, report = load(root, gazetteer)
    assert report.ok and kb is not None and "local--garage" in kb.structures  # identical: fine

    different = same.replace("nom: Garage solidaire de Nancy", "nom: Garage de Nancy", 1)
    root = two_departements(tmp_path, departements__57_yaml=different)
    kb, report = load(root, gazetteer)
    needle = "    id: local--garage\n"
    first, again = at(DEPT, needle, 8), at(different, needle, 8, file=FILE57)
    assert [str(p) for p in report.errors] == [
        f"{again}: identifiant « local--garage » "
        f"déjà utilisé en {first} avec un contenu différent : un identifiant désigne une seule "
        "fiche dans toute la base (copiez la fiche à l'identique, ou changez l'identifiant)"
    ]
    assert kb is not None and set(kb.disabled) == {"57"}
    assert kb.structures["local--garage"].nom == "Garage solidaire de Nancy"


def test_an_error_in_the_shared_files_refuses_the_whole_base(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = two_departements(tmp_path, commun__regles_yaml="eligibility_rules: [oops\n")
    kb, report = load(root, gazetteer)
    assert kb is None and not report.applied
    assert [p.file for p in report.errors] == ["knowledge/commun/regles.yaml"]
    with pytest.raises(KnowledgeError):
        from bot.kb.loader import load_knowledge

        load_knowledge(root, gazetteer, today=TODAY)


def test_check_names_the_disabled_departement(tmp_path: Path, gazetteer: Gazetteer) -> None:
    root = two_departements(tmp_path, departements__57_yaml=DEPT57.replace("57463", "57999"))
    out = io.StringIO()
    assert run_check(root, gazetteer, out, today=TODAY) == 1
    assert out.getvalue().splitlines() == [
        f"{at(DEPT57, '57463', -1, file=FILE57)}: code INSEE inconnu « 57999 »",
        "Département 57 désactivé (1 erreur) : ses habitants n'auront que les réponses communes "
        "tant que ce n'est pas corrigé ; les autres départements ne sont pas touchés. Un bot "
        "déjà en marche refuse ces fichiers et garde leur version précédente.",
        "1 erreur, 0 avertissement",
    ]


def test_a_change_in_one_departement_checks_that_departement_only(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = two_departements(tmp_path)
    cache = KnowledgeCache.beside(root, gazetteer_file=None)
    load(root, gazetteer, cache)
    assert (cache.stats.files_parsed, cache.stats.checks_run) == (6, 3)  # commun, 54, 57
    (root / "departements" / "57.yaml").write_text(DEPT57.replace("Metz", "Metz-Ville"), "utf-8")
    kb, report = load(root, gazetteer, cache)
    assert report.ok and kb is not None
    assert kb.structures["local--metz-garage"].nom == "Garage solidaire de Metz-Ville"
    assert (cache.stats.files_parsed, cache.stats.checks_run) == (7, 4)  # 57 again, only
    assert cache.stats.files_from_memory == 5 and cache.stats.checks_reused == 2


def test_editing_a_shared_answer_does_not_check_the_departements_again(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = two_departements(tmp_path)
    cache = KnowledgeCache(None)
    load(root, gazetteer, cache)
    faq = root / "commun" / "faq.yaml"
    faq.write_text(faq.read_text("utf-8").replace("Réponse.", "Une autre réponse.", 1), "utf-8")
    kb, report = load(root, gazetteer, cache)
    assert report.ok and kb is not None
    assert sum(f.reponse == "Une autre réponse." for f in kb.faq.values()) == 1
    assert cache.stats.checks_run == 3 + 1  # the shared files only
    rules = root / "commun" / "regles.yaml"
    rules.write_text(rules.read_text("utf-8").replace("ASS]", "ASS, AAH]"), "utf-8")
    load(root, gazetteer, cache)
    assert cache.stats.checks_run == 4 + 3  # a rule changed: every part again
