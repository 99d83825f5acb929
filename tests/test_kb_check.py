"""The knowledge-base loader and checker: every problem located at file:line:col, in French."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import DEFAULT_KNOWLEDGE
from bot.kb import vocab
from bot.kb.check_cli import run_check
from bot.kb.knowledge import KnowledgeBase, KnowledgeError
from bot.kb.loader import collect_problems, load_knowledge
from bot.kb.yamlpos import load_yaml
from bot.places import Gazetteer

TODAY = dt.date(2026, 11, 26)
DEPT_FILE = "knowledge/departements/54.yaml"


@dataclass(frozen=True)
class FakeCommune:
    insee: str
    dept: str
    epci: str | None
    region: str | None


class FakeGazetteer:
    def __init__(self) -> None:
        self.communes = {
            c.insee: c
            for c in (
                FakeCommune("54395", "54", "245400676", "44"),
                FakeCommune("54135", "54", "200070746", "44"),
                FakeCommune("54547", "54", "245400676", "44"),
            )
        }

    def __contains__(self, insee: object) -> bool:
        return insee in self.communes

    def get(self, insee: str) -> FakeCommune | None:
        return self.communes.get(insee)

    def communes_of_epci(self, siren: str) -> list[FakeCommune]:
        return [c for c in self.communes.values() if c.epci == siren]


RULES = """\
eligibility_rules:
  - id: iae
    libelle: IAE
    conditions: {fait: statuts, contient_un_de: [RSA, ASS]}
    decide_par: Un prescripteur
  - id: tzcld
    libelle: TZCLD
    conditions:
      tous:
        - {fait: sans_emploi_mois, op: ">=", valeur: 12}
        - {fait: commune, dans_zone_du_service: true}
    si_faux: non_eligible
    decide_par: Le comité local pour l'emploi
"""

DEPT = """\
meta:
  departement: "54"
  nom: Meurthe-et-Moselle
  date_maj: 2026-11-01
zones:
  - id: tzcld-colombey
    nom: TZCLD Colombey
    type: liste_communes
    codes: ["54135"]
structures:
  - source: local
    id: local--garage
    nom: Garage solidaire de Nancy
    date_maj: 2026-11-01
    code_insee: "54395"
    categories: [garage_solidaire]
  - source: local
    id: local--chantier
    nom: Chantier d'insertion
    date_maj: 2026-11-01
    code_insee: "54395"
    categories: [aci, ebe_tzcld]
services:
  - source: local
    id: local--garage-reparation
    structure_id: local--garage
    nom: Réparation à prix solidaire
    description: Réparations à petit prix.
    date_maj: 2026-11-01
    categorie: garage_solidaire
    frais: payant
    publics: [demandeurs-emploi, jeunes]
    modes_accueil: [en-presentiel]
    code_insee: "54395"
  - source: local
    id: local--chantier-espaces-verts
    structure_id: local--chantier
    nom: Chantier espaces verts
    description: Travaux d'espaces verts.
    date_maj: 2026-11-01
    categorie: aci
    eligibilite: {regle: iae}
    zone_eligibilite: ["54", "245400676"]
    zones: [tzcld-colombey]
orienteurs:
  - source: local
    id: local--ft-nancy
    nom: France Travail Nancy
    date_maj: 2026-11-01
    code_insee: "54395"
    categories: [france_travail]
"""


def _categories() -> str:
    lines = ["categories:"]
    for category in vocab.CATEGORIES:
        famille = "iae" if category in vocab.IAE_CATEGORIES else "orienteur"
        rule = "\n    regle_eligibilite: iae" if category in vocab.IAE_CATEGORIES else ""
        lines.append(f"  - id: {category}\n    famille: {famille}\n    libelle: {category}{rule}")
    return "\n".join(lines) + "\n"


def _needs() -> str:
    lines = ["besoins:"]
    for need in vocab.ROUTABLE_NEEDS:
        lines.append(f"  - {{id: {need}, libelle: {need}, libelle_en: {need}, categories: [aci]}}")
    return "\n".join(lines) + "\n"


def _faq() -> str:
    lines = ["faq:"]
    for topic in vocab.FAQ_TOPICS:
        lines.append(
            f"  - id: {topic}\n    question: {topic} ?\n    reponse: Réponse.\n"
            "    sources: [https://example.org]\n    date_maj: 2026-10-01"
        )
    return "\n".join(lines) + "\n"


def write_kb(tmp_path: Path, **replace: str) -> Path:
    """A minimal valid knowledge base; `replace` maps a file name to its new text."""
    files = {
        "commun/categories.yaml": _categories(),
        "commun/besoins.yaml": _needs(),
        "commun/faq.yaml": _faq(),
        "commun/regles.yaml": RULES,
        "departements/54.yaml": DEPT,
    }
    for name, text in replace.items():
        files[name.replace("__", "/").replace("_yaml", ".yaml")] = text
    root = tmp_path / "knowledge"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def dept(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    assert DEPT.count(old) == 1, old
    text = DEPT.replace(old, new)
    return write_kb(tmp_path, departements__54_yaml=text), text


def at(
    text: str, needle: str, offset: int = 0, *, nth: int | None = None, file: str = DEPT_FILE
) -> str:
    """`file:line:col` of `needle` (the `nth` one, else the only one) plus `offset` columns."""
    if nth is None:
        assert text.count(needle) == 1, needle
    index = -1
    for _ in range((nth or 0) + 1):
        index = text.index(needle, index + 1)
    before = text[:index]
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1 + offset
    return f"{file}:{line}:{column}"


def errors(root: Path) -> list[str]:
    found, _ = collect_problems(root, FakeGazetteer(), today=TODAY)
    return [str(p) for p in found]


def warnings(root: Path) -> list[str]:
    _, found = collect_problems(root, FakeGazetteer(), today=TODAY)
    return [str(p) for p in found]


# --- a valid base -------------------------------------------------------------------------------


def test_minimal_valid_knowledge_base_loads(tmp_path: Path) -> None:
    kb = load_knowledge(write_kb(tmp_path), FakeGazetteer(), today=TODAY)
    assert set(kb.metas) == {"54"}
    assert set(kb.structures) == {"local--garage", "local--chantier"}
    assert [s.id for s in kb.services] == [
        "local--garage-reparation",
        "local--chantier-espaces-verts",
    ]
    assert [o.id for o in kb.orienteurs] == ["local--ft-nancy"]
    assert set(kb.faq) == set(vocab.FAQ_TOPICS)
    assert set(kb.rules) == {"iae", "tzcld"}
    assert kb.warnings == ()


def test_check_cli_on_a_valid_base(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_check(write_kb(tmp_path), FakeGazetteer(), out, today=TODAY) == 0
    assert out.getvalue() == (
        "La base de connaissances est valide : 1 département, 2 structures, 2 services, "
        "1 orienteur, 1 zone, 2 règles, 20 FAQ, 0 avertissement.\n"
    )


# --- YAML ---------------------------------------------------------------------------------------


def test_malformed_yaml(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "  nom: Meurthe-et-Moselle", "  nom: Meurthe: et Moselle")
    assert errors(root) == [
        f"{at(text, ': et Moselle')}: YAML mal formé : « : » inattendu (une valeur contenant "
        "« : » doit être entre guillemets, ou l'indentation est fausse)"
    ]


def test_unclosed_bracket(tmp_path: Path) -> None:
    root, _ = dept(tmp_path, '    codes: ["54135"]', '    codes: ["54135"\n')
    (problem,) = errors(root)
    assert problem.startswith(f"{DEPT_FILE}:11:1: YAML mal formé : « ] » fermant manquant")


def test_duplicate_key_in_a_mapping(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "    frais: payant\n", "    frais: payant\n    frais: gratuit\n")
    assert errors(root) == [
        f"{at(text, 'frais: gratuit')}: clé en double « frais » (déjà présente ligne 31)"
    ]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "orienteurs:", "orienteur:")
    assert errors(root) == [
        f"{at(text, 'orienteur:')}: section inconnue « orienteur » — vouliez-vous dire "
        "« orienteurs » ?"
    ]


# --- pydantic errors ----------------------------------------------------------------------------


def test_unknown_category_suggests_the_right_one(tmp_path: Path) -> None:
    root, text = dept(
        tmp_path, "    categorie: garage_solidaire", "    categorie: garrage_solidaire"
    )
    assert errors(root) == [
        f"{at(text, 'garrage_solidaire')}: catégorie inconnu(e) « garrage_solidaire » — "
        "vouliez-vous dire « garage_solidaire » ?"
    ]


def test_unknown_field_suggests_the_right_one(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "    categorie: garage_solidaire", "    categori: garage_solidaire")
    assert errors(root) == [
        f"{at(text, 'source: local', nth=2)}: champ obligatoire manquant : categorie",
        f"{at(text, 'categori:')}: champ inconnu « categori » — vouliez-vous dire « categorie » ?",
    ]


def test_missing_required_field(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "    nom: Réparation à prix solidaire\n", "")
    assert errors(root) == [f"{at(text, 'source: local', nth=2)}: champ obligatoire manquant : nom"]


def test_bad_enums_for_frais_and_publics(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "    frais: payant", "    frais: payante")
    text = text.replace("[demandeurs-emploi, jeunes]", "[demandeurs-emploi, jeune]")
    root = write_kb(tmp_path, departements__54_yaml=text)
    assert errors(root) == [
        f"{at(text, 'payante')}: frais inconnu(e) « payante » — vouliez-vous dire « payant » ?",
        f"{at(text, 'jeune]')}: public inconnu(e) « jeune » — vouliez-vous dire « jeunes » ?",
    ]


def test_wrong_types_and_formats(tmp_path: Path) -> None:
    root, text = dept(
        tmp_path,
        '    code_insee: "54395"\n    categories: [garage',
        "    code_insee: 5439\n    categories: [garage",
    )
    text = text.replace("    publics: [demandeurs-emploi, jeunes]", "    publics: jeunes")
    root = write_kb(tmp_path, departements__54_yaml=text)
    assert errors(root) == [
        f"{at(text, ': 5439', 2)}: « code_insee » : un texte est attendu(e), pas « 5439 »",
        f"{at(text, 'jeunes')}: « publics » : une liste (une ligne « - valeur » par élément, "
        "ou [a, b]) est attendu(e), pas « jeunes »",
    ]


def test_every_error_is_reported_sorted(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "    frais: payant", "    frais: payante")
    text = text.replace("    nom: Chantier espaces verts\n", "")
    root = write_kb(
        tmp_path, departements__54_yaml=text, commun__regles_yaml=RULES.replace("ASS]", "ASSS]")
    )
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(root, FakeGazetteer(), today=TODAY)
    assert [(p.file, p.line) for p in caught.value.problems] == [
        ("knowledge/commun/regles.yaml", 4),
        (DEPT_FILE, 31),
        (DEPT_FILE, 35),
    ]
    assert "statut inconnu « ASSS » — vouliez-vous dire « ASS » ?" in str(caught.value)


# --- cross references ---------------------------------------------------------------------------


def test_duplicate_id(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "    id: local--chantier\n", "    id: local--garage\n")
    first = at(DEPT, "    id: local--garage\n", 8)
    assert errors(root) == [
        f"{at(text, '    id: local--garage', 8, nth=1)}: identifiant en double « local--garage » "
        f"(déjà défini en {first})",
        f"{at(text, 'structure_id: local--chantier', 14)}: structure inconnue "
        "« local--chantier » — vouliez-vous dire « local--garage » ?",
    ]


def test_dangling_structure_id(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "structure_id: local--garage", "structure_id: local--garag")
    assert errors(root) == [
        f"{at(text, 'structure_id: local--garag', 14)}: structure inconnue « local--garag » — "
        "vouliez-vous dire « local--garage » ?"
    ]


def test_unknown_insee_code(tmp_path: Path) -> None:
    root, text = dept(tmp_path, '    codes: ["54135"]', '    codes: ["54136"]')
    text = text.replace('["54", "245400676"]', '["54", "245400677"]')
    root = write_kb(tmp_path, departements__54_yaml=text)
    commune, epci = at(text, '"54136"'), at(text, '"245400677"')
    assert errors(root) == [
        f"{commune}: code INSEE de commune inconnu « 54136 »",
        f"{epci}: EPCI inconnu « 245400677 » (aucune commune de ce SIREN)",
    ]


def test_unknown_zone(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "zones: [tzcld-colombey]", "zones: [tzcld-colombei]")
    assert errors(root) == [
        f"{at(text, 'tzcld-colombei')}: zone inconnue « tzcld-colombei » — "
        "vouliez-vous dire « tzcld-colombey » ?"
    ]


def test_iae_service_with_a_non_eligible_rule(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "{regle: iae}", "{regle: tzcld}")
    assert errors(root) == [
        f"{at(text, 'tzcld}')}: la règle « tzcld » a « si_faux: non_eligible » : impossible pour "
        "l'IAE, qu'un prescripteur peut toujours valider (utilisez a_verifier)"
    ]


SHARED_ZONES = """\
zones:
  - id: bassin-nancy
    nom: Bassin de Nancy
    type: liste_communes
    codes: ["54395"]
"""


def test_rule_compile_error_is_located_in_the_rules_file(tmp_path: Path) -> None:
    rules = RULES.replace("dans_zone_du_service: true", "dans_zone: bassin-nanci")
    root = write_kb(tmp_path, commun__regles_yaml=rules + SHARED_ZONES)
    assert errors(root) == [
        f"{at(rules, 'bassin-nanci', file='knowledge/commun/regles.yaml')}: zone inconnue "
        "« bassin-nanci » — vouliez-vous dire « bassin-nancy » ?"
    ]


def test_a_shared_rule_cannot_use_a_departement_zone(tmp_path: Path) -> None:
    rules = RULES.replace("dans_zone_du_service: true", "dans_zone: tzcld-colombey")
    root = write_kb(tmp_path, commun__regles_yaml=rules)
    assert errors(root) == [
        f"{at(rules, 'tzcld-colombey', file='knowledge/commun/regles.yaml')}: zone inconnue "
        "« tzcld-colombey » (une règle de commun/ ne voit que les zones de commun/ : pour une "
        "zone d'un département, utilisez « dans_zone_du_service: true »)"
    ]


def test_file_name_must_match_the_departement(tmp_path: Path) -> None:
    root, text = dept(tmp_path, 'departement: "54"', 'departement: "57"')
    assert errors(root) == [
        f"{at(text, 'departement: ', 13)}: le fichier s'appelle « 54.yaml » mais décrit le "
        "département « 57 » : renommez-le « 57.yaml »"
    ]


def test_missing_faq_topics_and_needs(tmp_path: Path) -> None:
    faq = _faq().split("  - id: faq_pass_iae")[0]
    root = write_kb(tmp_path, commun__faq_yaml=faq)
    (problem,) = errors(root)
    assert problem.startswith("knowledge/commun/faq.yaml:1:1: FAQ attendu(e)s mais absent(e)s : ")
    assert "faq_pass_iae" in problem and "faq_iae_eligibilite" not in problem


# --- warnings and the CLI -----------------------------------------------------------------------


def test_warnings_for_stale_data_and_unlocated_in_person_service(tmp_path: Path) -> None:
    root, text = dept(
        tmp_path,
        '    code_insee: "54395"\n  - source: local\n    id: local--chantier-',
        "  - source: local\n    id: local--chantier-",
    )
    text = text.replace(
        '    date_maj: 2026-11-01\n    code_insee: "54395"\n    categories: [france',
        '    date_maj: 2024-01-15\n    code_insee: "54395"\n    categories: [france',
    )
    # the structure is not located either (a service may use its structure's place)
    text = text.replace(
        '    code_insee: "54395"\n    categories: [garage_solidaire]',
        "    categories: [garage_solidaire]",
    )
    root = write_kb(tmp_path, departements__54_yaml=text)
    assert errors(root) == []
    assert warnings(root) == [
        f"{at(text, '[en-presentiel]')}: service en présentiel sans code_insee ni "
        "latitude/longitude : distance inconnue",
        f"{at(text, '2024-01-15')}: date_maj du 2024-01-15, il y a 1046 jours (plus d'un an) "
        ": à revérifier — vérifiez la fiche auprès de la structure, puis date_maj: 2026-11-26",
    ]
    out = io.StringIO()
    assert run_check(root, FakeGazetteer(), out, today=TODAY) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{at(text, '[en-presentiel]')}: attention : service en présentiel")
    assert lines[-1].endswith("2 avertissements.")


def test_check_cli_reports_errors_then_warnings_and_fails(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "structure_id: local--garage", "structure_id: local--garag")
    text = text.replace(
        "date_maj: 2026-11-01\n    categorie: aci", "date_maj: 2020-01-01\n    categorie: aci"
    )
    root = write_kb(tmp_path, departements__54_yaml=text)
    out = io.StringIO()
    assert run_check(root, FakeGazetteer(), out, today=TODAY) == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{at(text, 'structure_id: local--garag', 14)}: structure inconnue")
    assert lines[1].startswith(f"{at(text, '2020-01-01')}: attention : date_maj du 2020-01-01")
    assert lines[2].startswith("Département 54 désactivé (1 erreur) : ses habitants n'auront ")
    assert lines[3] == "1 erreur, 1 avertissement"


# --- positions of the YAML reader ---------------------------------------------------------------


def test_positions_of_keys_values_and_items() -> None:
    text = "a:\n  - x: 1\n    y: [p, q]\n  - &base {z: 2}\nb:\n  <<: *base\n  w: 3\n"
    doc, problems = load_yaml(text, "f.yaml")
    assert problems == []
    assert doc is not None
    assert doc.data == {"a": [{"x": 1, "y": ["p", "q"]}, {"z": 2}], "b": {"z": 2, "w": 3}}
    assert doc.position(("a", 0, "y", 1)) == (3, 12)
    assert doc.position(("a", 0, "y"), key=True) == (3, 5)
    assert doc.position(("a", 0, "missing")) == (2, 5)  # the mapping that lacks it
    assert doc.position(("b", "z")) == (4, 15)  # merged: where it was written
    assert doc.position(("a", 7)) == (2, 3)  # no such item: the list


def test_yaml_values_keep_pyyaml_meaning() -> None:
    text = "d: 2026-11-01\nn: 007\nf: 6.18\nb: non\nt: yes\nq: '54'\ne:\n"
    doc, _ = load_yaml(text, "f.yaml")
    assert doc is not None
    assert doc.data == {
        "d": dt.date(2026, 11, 1),
        "n": 7,
        "f": 6.18,
        "b": "non",
        "t": True,
        "q": "54",
        "e": None,
    }


def test_impossible_date_and_second_document() -> None:
    _, problems = load_yaml("a: 2026-02-30\n---\nb: 1\n", "f.yaml")
    assert [str(p) for p in problems] == [
        "f.yaml:1:4: valeur illisible « 2026-02-30 » (day is out of range for month)",
        "f.yaml:2:1: un seul document YAML par fichier (« --- »)",
    ]


def test_meta_outside_departements_and_section_not_a_list(tmp_path: Path) -> None:
    rules = "meta:\n  departement: '54'\n" + RULES + "zones: nope\n"
    root = write_kb(tmp_path, commun__regles_yaml=rules)
    found = errors(root)
    assert (
        "knowledge/commun/regles.yaml:1:1: « meta » n'a sa place que dans un fichier de "
        "departements/" in found
    )
    assert any("la section « zones » doit être une liste" in p for p in found)


def test_local_faq_overrides_the_national_one(tmp_path: Path) -> None:
    local = (
        "faq:\n  - id: faq_aides_permis\n    question: Aides au permis en Meurthe-et-Moselle ?\n"
        "    reponse: Le Département aide.\n    sources: [https://example.org]\n"
        "    date_maj: 2026-10-01\n    portee: departement\n"
    )
    root = write_kb(tmp_path, departements__54_yaml=DEPT + local)
    kb = load_knowledge(root, FakeGazetteer(), today=TODAY)
    assert kb.faq["faq_aides_permis"].question == "Aides au permis en Meurthe-et-Moselle ?"
    assert kb.faq["faq_pass_iae"].portee == "national"


def test_references_to_an_invalid_item_are_not_reported_twice(tmp_path: Path) -> None:
    root, text = dept(tmp_path, "    nom: Garage solidaire de Nancy\n", "")
    assert errors(root) == [f"{at(text, 'source: local', nth=0)}: champ obligatoire manquant : nom"]


# --- FAQ sources on trusted domains (commun/national.yaml: domaines_sources_fiables) ------------

FAQ_FILE = "knowledge/commun/faq.yaml"
TRUSTED = (
    "national:\n  domaines_sources_fiables:\n    - service-public.fr\n"
    "    - Inclusion.beta.gouv.fr.\n"  # case and a final dot are forgiven
)


def test_a_faq_citing_only_untrusted_pages_is_flagged_and_the_shipped_base_is_clean(
    tmp_path: Path, gazetteer: Gazetteer, knowledge: KnowledgeBase
) -> None:
    sources = {
        # one official page among others is enough; subdomains, case and a final dot count
        "faq_iae_definition": "[https://blog.example.org/iae, https://emplois.inclusion.beta.gouv.fr]",
        "faq_rqth": "[http://WWW.Service-Public.FR./particuliers/vosdroits/F1650]",
        # a look-alike domain is not a subdomain; commercial pages only
        "faq_pass_iae": "[https://faux-service-public.fr/pass-iae]",
        "faq_cae_fonctionnement": "[https://logiciel-interim.com/cae, https://www.journaldunet.com/x]",
    }
    faq = "faq:\n" + "".join(
        f"  - id: {topic}\n    question: {topic} ?\n    reponse: Réponse.\n"
        f"    sources: {sources.get(topic, '[https://www.service-public.fr/particuliers]')}\n"
        "    date_maj: 2026-10-01\n"
        for topic in vocab.FAQ_TOPICS
    )
    root = write_kb(tmp_path, commun__faq_yaml=faq, commun__national_yaml=TRUSTED)
    assert errors(root) == []
    flagged = [
        f"{at(faq, sources[topic], file=FAQ_FILE)}: aucune source de la FAQ « {topic} » n'est sur "
        "un domaine de confiance (domaines_sources_fiables dans knowledge/commun/national.yaml) : "
        "citez une page officielle ou celle d'un réseau national"
        for topic in ("faq_pass_iae", "faq_cae_fonctionnement")
    ]
    assert sorted(warnings(root)) == sorted(flagged)

    # the shipped base keeps such a list, and every one of its FAQs cites an official page
    assert "service-public.fr" in knowledge.national.domaines_sources_fiables
    _, shipped = collect_problems(DEFAULT_KNOWLEDGE, gazetteer, today=TODAY)
    assert [str(p) for p in shipped if "domaine de confiance" in p.message] == []


def test_a_trusted_domain_written_as_an_address_is_an_error_at_its_place(tmp_path: Path) -> None:
    national = TRUSTED.replace(
        "    - service-public.fr\n", "    - https://www.service-public.fr/\n"
    )
    root = write_kb(tmp_path, commun__national_yaml=national)
    assert errors(root) == [
        f"{at(national, 'https://www', file='knowledge/commun/national.yaml')}: "
        "« https://www.service-public.fr/ » n'est pas un nom de domaine : écrivez seulement le "
        "domaine, sans « https:// » ni « / », par exemple « service-public.fr »"
    ]
