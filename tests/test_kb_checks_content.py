"""Checks beyond the schema, as an admin meets them: an address that does not hold together, a
phone number nobody can call, opening hours that do not parse, a rule testing an unknown fact,
a category nobody offers, a stale record, examples left in production. Each problem is at its
`file:line:col`, in French, with the fix when it is obvious; `--format json` gives tools the
same list. Run against the real gazetteer."""

from __future__ import annotations

import io
import json
import random
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.config import DEFAULT_KNOWLEDGE
from bot.kb.check_cli import run_check
from bot.kb.checks import Located, Sections, unproposed_categories
from bot.kb.loader import collect_problems, load_with_problems
from bot.kb.yamlpos import YamlDocument
from bot.places import Gazetteer
from tests.test_kb_check import DEPT, TODAY, at, write_kb

GARAGE = """    nom: Garage solidaire de Nancy
    date_maj: 2026-11-01
    code_insee: "54395"
"""
assert DEPT.count(GARAGE) == 1


def garage(tmp_path: Path, fields: str, *, code: str = "54395", **files: str) -> tuple[Path, str]:
    """The minimal base whose garage, in Nancy's INSEE code unless said, has these fields."""
    lines = f'    nom: Garage solidaire\n    date_maj: 2026-11-01\n    code_insee: "{code}"\n'
    text = DEPT.replace(GARAGE, lines + fields)
    return write_kb(tmp_path, departements__54_yaml=text, **files), text


def problems(root: Path, gazetteer: Gazetteer) -> tuple[list[str], list[str]]:
    errors, warnings = collect_problems(root, gazetteer, today=TODAY)
    return [str(p) for p in errors], [str(p) for p in warnings]


# --- addresses ----------------------------------------------------------------------------------


def test_another_communes_insee_code_is_an_error_with_the_right_code(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root, text = garage(tmp_path, "    commune: Lunéville\n")
    errors, warnings = problems(root, gazetteer)
    assert errors == [
        f"{at(text, '54395', -1, nth=0)}: le code INSEE « 54395 » est celui de Nancy (54), pas "
        'de Lunéville (54329) — code_insee: "54329" si la fiche est à Lunéville, sinon '
        "commune: Nancy"
    ]
    assert warnings == []


def test_a_name_no_commune_has_is_a_warning_and_a_typo_gets_the_right_name(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root, text = garage(tmp_path, "    commune: Nanccy\n")
    errors, warnings = problems(root, gazetteer)
    assert errors == []
    assert warnings == [
        f"{at(text, 'Nanccy')}: commune « Nanccy » mal écrite ? Le code INSEE « 54395 » est "
        "celui de Nancy — commune: Nancy"
    ]
    root, text = garage(tmp_path, "    commune: Ville Imaginaire\n")
    errors, warnings = problems(root, gazetteer)
    assert errors == []
    assert warnings == [
        f"{at(text, 'Ville Imaginaire')}: aucune commune ne s'appelle « Ville Imaginaire » ; le "
        "code INSEE « 54395 » est celui de Nancy (54) : vérifiez le nom et le code"
    ]


def test_a_name_several_communes_have_lists_them(tmp_path: Path, gazetteer: Gazetteer) -> None:
    root, _ = garage(tmp_path, "    commune: Saint-Denis\n")
    errors, _ = problems(root, gazetteer)
    assert len(errors) == 1
    assert (
        "pas de « Saint-Denis » : plusieurs communes portent ce nom (Saint-Denis (11) : "
        in (errors[0])
    )


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("54395", "NANCY CEDEX"),  # La Poste's CEDEX names
        ("54395", "nancy"),
        ("54547", "Vandoeuvre-les-Nancy"),  # œ, accents, hyphens
        ("75115", "Paris"),  # an arrondissement under its city's name
        ("75056", "Paris 15e Arrondissement"),
        ("88413", "St-Dié-des-Vosges"),
    ],
)
def test_the_ways_people_write_a_communes_name_are_accepted(
    tmp_path: Path, gazetteer: Gazetteer, code: str, name: str
) -> None:
    root, _ = garage(tmp_path, f"    commune: {name}\n", code=code)
    assert problems(root, gazetteer) == ([], [])


def test_a_postal_code_of_another_commune_is_an_error_and_an_unknown_one_a_warning(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root, text = garage(
        tmp_path, '    commune: Lunéville\n    code_postal: "54000"\n', code="54329"
    )
    errors, warnings = problems(root, gazetteer)
    assert errors == [
        f"{at(text, '54000', -1)}: le code postal « 54000 » n'est pas celui de Lunéville (54300) : "
        'c\'est celui de Nancy (54395) — code_postal: "54300"'
    ]
    root, text = garage(tmp_path, '    commune: Nancy\n    code_postal: "54035"\n')
    errors, warnings = problems(root, gazetteer)
    assert errors == []
    assert warnings == [
        f"{at(text, '54035', -1)}: code postal « 54035 » inconnu de La Poste (un code CEDEX ?) ; "
        "ceux de Nancy : 54000, 54100"
    ]
    root, _ = garage(tmp_path, '    commune: Nancy\n    code_postal: "54100"\n')
    assert problems(root, gazetteer) == ([], [])


def test_coordinates_far_from_the_commune_are_a_warning_that_says_how_far(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    # Toul's coordinates on a record in Nancy
    root, text = garage(tmp_path, "    latitude: 48.6761\n    longitude: 5.8944\n")
    errors, warnings = problems(root, gazetteer)
    assert errors == []
    assert warnings == [
        f"{at(text, '48.6761')}: coordonnées à 21,2 km du centre de Nancy (54395), plus près de "
        "Toul (54528) : vérifiez latitude et longitude, ou le code INSEE"
    ]
    root, text = garage(tmp_path, "    latitude: 6.1907\n    longitude: 48.6851\n")
    _, warnings = problems(root, gazetteer)
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{at(text, '6.1907')}: latitude et longitude inversées ?")
    assert warnings[0].endswith("— latitude: 48.6851, longitude: 6.1907")
    root, _ = garage(tmp_path, "    latitude: 48.6851\n    longitude: 6.1907\n")
    assert problems(root, gazetteer) == ([], [])


# --- phones, web addresses, e-mail --------------------------------------------------------------


def test_phone_numbers_must_be_one_valid_number(tmp_path: Path, gazetteer: Gazetteer) -> None:
    root, text = garage(tmp_path, '    telephone: "03 83 00"\n')
    errors, _ = problems(root, gazetteer)
    assert errors == [
        f"{at(text, '03 83 00', -1)}: numéro de téléphone invalide « 03 83 00 » (attendu : un "
        "seul numéro, par exemple « 03 83 00 00 00 » ou « +33 3 83 00 00 00 », ou un numéro "
        "court comme 3949)"
    ]
    root, text = garage(tmp_path, '    telephone: "03 83 00 00 00 / 06 12 34 56 78"\n')
    errors, _ = problems(root, gazetteer)
    assert errors == [
        f"{at(text, '03 83 00 00 00', -1)}: un seul numéro par fiche, pas « 03 83 00 00 00 / 06 "
        '12 34 56 78 » — telephone: "03 83 00 00 00" (mettez l\'autre dans la description)'
    ]
    for good in ("+33383000000", "03 83 00 00 00", "3949", "0 800 00 00 00"):
        root, _ = garage(tmp_path, f'    telephone: "{good}"\n')
        assert problems(root, gazetteer) == ([], []), good


def test_overseas_numbers_are_read_in_their_own_region(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    reunion = (
        'meta:\n  departement: "974"\n  nom: La Réunion\n  date_maj: 2026-11-01\n'
        "structures:\n  - source: local\n    id: local--974-garage\n    nom: Garage\n"
        '    date_maj: 2026-11-01\n    code_insee: "97411"\n    commune: Saint-Denis\n'
        '    telephone: "0262 12 34 56"\n    categories: [garage_solidaire]\n'
    )
    root = write_kb(tmp_path, departements__974_yaml=reunion)
    assert problems(root, gazetteer) == ([], [])
    root, _ = garage(tmp_path, '    telephone: "0262 12 34 56"\n')  # in Nancy: no such number
    errors, _ = problems(root, gazetteer)
    assert [e.split(": ", 1)[1][:31] for e in errors] == ["numéro de téléphone invalide « "]


def test_web_addresses_and_e_mails_must_lead_somewhere(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root, text = garage(tmp_path, '    site_web: "https://garage"\n')
    errors, _ = problems(root, gazetteer)
    assert errors == [
        f"{at(text, 'https://garage', -1)}: adresse web sans nom de domaine complet "
        "« https://garage » (attendu par exemple https://www.exemple.fr/…)"
    ]
    root, text = garage(tmp_path, '    courriel: "contact@garage,fr"\n')
    errors, _ = problems(root, gazetteer)
    assert errors == [  # the schema's own check (data·inclusion's EmailStr)
        f"{at(text, 'contact@garage,fr', -1)}: adresse e-mail invalide pour « courriel » : "
        "« contact@garage,fr »"
    ]


def test_a_faq_source_without_a_domain_refuses_the_shared_files(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root = write_kb(tmp_path)
    faq = root / "commun" / "faq.yaml"
    text = faq.read_text("utf-8").replace("[https://example.org]", "[https://service-public]", 1)
    faq.write_text(text, "utf-8")
    kb, report = load_with_problems(root, gazetteer, today=TODAY)
    assert kb is None and not report.applied
    assert [str(p) for p in report.errors] == [
        f"{at(text, 'https://service-public', file='knowledge/commun/faq.yaml')}: adresse web "
        "sans nom de domaine complet « https://service-public » (attendu par exemple "
        "https://www.exemple.fr/…)"
    ]


# --- opening hours ------------------------------------------------------------------------------


def test_opening_hours_that_do_not_parse_point_at_the_character(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    hours = "Mo-Fr 08:30-12:00,13:30-17:00; PH offf"
    root, text = garage(tmp_path, f'    horaires_accueil: "{hours}"\n')
    errors, _ = problems(root, gazetteer)
    # the column is the second "f" of "offf", inside the quotes
    assert errors == [
        f"{at(text, 'offf', 3)}: horaires illisibles au caractère 38 (« f ») : format "
        "OpenStreetMap attendu, par exemple « Mo-Fr 09:00-12:00,14:00-17:00; PH off » (attendu "
        "à cet endroit : la fin du texte ; « ; » ou « , » entre deux règles)"
    ]


def test_hours_written_the_french_way_get_their_osm_form_as_the_fix(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    root, text = garage(tmp_path, "    horaires_accueil: du lundi au vendredi 9h-12h et 14h-17h\n")
    errors, _ = problems(root, gazetteer)
    assert len(errors) == 1
    assert errors[0].startswith(f"{at(text, 'du lundi')}: horaires illisibles au caractère 1")
    assert errors[0].endswith('— horaires_accueil: "Mo-Fr 09:00-12:00,14:00-17:00"')
    root, _ = garage(tmp_path, '    horaires_accueil: "Mo-Fr 09:00-12:00,14:00-17:00"\n')
    assert problems(root, gazetteer) == ([], [])


# --- records from another source never block their département ----------------------------------


def test_an_imported_records_content_problems_are_warnings(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    text = DEPT.replace(GARAGE, GARAGE + '    telephone: "03 83 00"\n    commune: Toul\n')
    text = text.replace(
        "  - source: local\n    id: local--garage\n", "  - source: dora\n    id: dora--garage\n"
    )
    text = text.replace("structure_id: local--garage", "structure_id: dora--garage")
    root = write_kb(tmp_path, departements__54_yaml=text)
    kb, report = load_with_problems(root, gazetteer, today=TODAY)
    assert kb is not None and report.ok and not kb.disabled
    assert len(report.warnings) == 2
    assert all(
        "(fiche venue de « dora » : corrigez-la à la source ou dans ce fichier ; elle ne bloque "
        "pas son département)" in w.message
        for w in report.warnings
    )


# --- rules, categories, freshness ---------------------------------------------------------------


def shipped_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, copy, ignore=shutil.ignore_patterns(".cache"))
    return copy


def test_a_rule_testing_an_unknown_fact_names_the_declared_facts(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    copy = shipped_copy(tmp_path)
    rules = copy / "commun" / "regles.yaml"
    text = rules.read_text("utf-8")
    assert "fait: age," in text
    rules.write_text(text.replace("fait: age,", "fait: agee,", 1), "utf-8")
    errors, _ = problems(copy, gazetteer)
    assert len(errors) == 1
    assert errors[0].split(": ", 1)[1] == (
        "fait inconnu « agee » — vouliez-vous dire « age » ? ; les règles peuvent tester : "
        "statuts, age, sans_emploi_mois, residence_depuis_mois (déclarés dans "
        "knowledge/commun/faits.yaml) et commune et mois_courant (toujours connus) ; un nouveau "
        "fait se déclare dans knowledge/commun/faits.yaml"
    )


def test_a_category_no_active_service_offers_is_a_warning_at_the_need(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    needs = "besoins:\n" + "".join(
        f"  - {{id: {need}, libelle: {need}, libelle_en: {need}, categories: [aci{extra}]}}\n"
        for need, extra in (
            ("emploi_insertion", ", cjm"),
            *((n, "") for n in _other_needs()),
        )
    )
    root = write_kb(tmp_path, commun__besoins_yaml=needs)
    errors, warnings = problems(root, gazetteer)
    assert errors == []
    assert warnings == [
        f"{at(needs, 'cjm', file='knowledge/commun/besoins.yaml')}: aucun service actif de la "
        "catégorie « cjm » dans toute la base : le bot ne pourra jamais en proposer (besoin "
        "« emploi_insertion ») — ajoutez une structure et son service dans un département, ou "
        "retirez la catégorie"
    ]


def test_the_categories_no_active_service_offers_are_those_a_reading_of_every_part_finds() -> None:
    # the check stops reading once every category is found; it must find what reading every
    # part finds, whatever the order of the parts and where a service's structure is
    categories = ["aci", "cjm", "garage", "ebe"]
    doc = YamlDocument("f.yaml", None, "besoins: []\n")
    for seed in range(300):
        draw = random.Random(seed)
        parts = [Sections() for _ in range(draw.randint(1, 4))]
        ids = [f"s{n}" for n in range(draw.randint(1, 6))]
        for n, structure_id in enumerate(ids):
            kind = draw.choice(["structures", "orienteurs"])
            item = SimpleNamespace(id=structure_id, statut=draw.choice(["actif", "ferme"]))
            draw.choice(parts).of(kind).append(Located(item, doc, kind, n))
        for n in range(draw.randint(0, 8)):
            service = SimpleNamespace(
                categorie=draw.choice(categories),
                statut=draw.choice(["actif", "actif", "suspendu"]),
                structure_id=draw.choice([*ids, "ailleurs"]),
            )
            draw.choice(parts).services.append(Located(service, doc, "services", n))
        need = SimpleNamespace(id="besoin", categories=categories)
        parts[0].needs.append(Located(need, doc, "besoins", 0))
        active = {
            e.item.id
            for p in parts
            for e in (*p.structures, *p.orienteurs)
            if e.item.statut == "actif"
        }
        offered = {
            e.item.categorie
            for p in parts
            for e in p.services
            if e.item.statut == "actif" and e.item.structure_id in active
        }
        warned = [
            p.message.split("« ")[1].split(" »")[0]
            for p in unproposed_categories(parts[0], parts[1:])
        ]
        assert warned == [c for c in categories if c not in offered], seed


def _other_needs() -> list[str]:
    from bot.kb import vocab

    return [n for n in vocab.ROUTABLE_NEEDS if n != "emploi_insertion"]


def test_a_record_older_than_its_update_frequency_is_a_warning(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    text = DEPT.replace(
        "    date_maj: 2026-11-01\n    categorie: aci\n",
        "    date_maj: 2026-07-01\n    categorie: aci\n    frequence_maj: 3m\n",
    )
    root = write_kb(tmp_path, departements__54_yaml=text)
    errors, warnings = problems(root, gazetteer)
    assert errors == []
    assert warnings == [
        f"{at(text, '2026-07-01')}: fiche plus ancienne que sa fréquence de mise à jour "
        "(frequence_maj: 3m, soit 92 jours) : date_maj du 2026-07-01, il y a 148 jours — "
        "vérifiez la fiche auprès de la structure, puis date_maj: 2026-11-26"
    ]


# --- examples, production, JSON -----------------------------------------------------------------


def test_examples_are_a_summary_line_and_errors_in_production(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    text = DEPT.replace(GARAGE, GARAGE + "    exemple: true\n")
    root = write_kb(tmp_path, departements__54_yaml=text)
    out = io.StringIO()
    assert run_check(root, gazetteer, out, today=TODAY) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "Fiches d'exemple (exemple: true) : 1 (1 structure), montrées comme telles aux usagers ; "
        "remplacez-les par des fiches réelles vérifiées avant la mise en service "
        "(« aiguillage check --production » les compte comme des erreurs)."
    )
    assert lines[1].startswith("La base de connaissances est valide")

    out = io.StringIO()
    assert run_check(root, gazetteer, out, today=TODAY, production=True) == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        f"{at(text, 'exemple: true')}: fiche d'exemple (exemple: true) : en production, "
        "remplacez-la par une fiche réelle vérifiée, ou supprimez-la — exemple: false, une fois "
        "la fiche vérifiée auprès de la structure"
    )
    assert lines[1].startswith("Département 54 désactivé en production (1 erreur)")


def test_json_format_is_a_stable_list_for_tools(tmp_path: Path, gazetteer: Gazetteer) -> None:
    root, text = garage(tmp_path, "    commune: Lunéville\n")
    text_54 = text.replace("categories: [france_travail]", "categories: [france_travai]")
    text_54 = text_54.replace(
        "date_maj: 2026-11-01\n    categorie: aci", "date_maj: 2024-11-01\n    categorie: aci"
    )
    (root / "departements" / "54.yaml").write_text(text_54, "utf-8")
    out = io.StringIO()
    assert run_check(root, gazetteer, out, today=TODAY, output="json") == 1
    found = json.loads(out.getvalue())
    assert [set(p) for p in found] == [
        {"file", "line", "column", "severity", "message", "fix"}
    ] * len(found)
    assert [(p["severity"], p["fix"]) for p in found] == [
        ("error", 'code_insee: "54329" si la fiche est à Lunéville, sinon commune: Nancy'),
        ("error", "vouliez-vous dire « france_travail » ?"),
        ("warning", "vérifiez la fiche auprès de la structure, puis date_maj: 2026-11-26"),
    ]
    first = found[0]
    assert (first["file"], first["line"], first["column"]) == (
        "knowledge/departements/54.yaml",
        *map(int, at(text_54, '"54395"', nth=0).split(":")[1:]),
    )
    assert found[1]["message"] == "catégorie inconnu(e) « france_travai »"


# --- the shipped base -------------------------------------------------------------------------


def test_the_shipped_base_has_no_error_and_no_warning_only_its_examples(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    out = io.StringIO()
    assert run_check(shipped_copy(tmp_path), gazetteer, out, today=TODAY) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Fiches d'exemple (exemple: true) : ")
    assert lines[1].startswith("La base de connaissances est valide : 6 départements")
    assert lines[1].endswith(", 0 avertissement.")
