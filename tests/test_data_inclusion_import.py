"""Importing data·inclusion files into a département: what an admin sees and can review.

Each test imports the sample open-data files (tests/data/data_inclusion/) into a private copy
of the shipped knowledge base, then reads the YAML written, the report, and `aiguillage check`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from bot.data_inclusion.previous import state_path
from bot.kb.cache import KnowledgeCache
from bot.kb.loader import load_knowledge, load_with_problems
from bot.places import Gazetteer
from tests.data_inclusion_support import (
    SAMPLES,
    TODAY,
    copy_knowledge,
    imported_file,
    run_import,
    sample,
    write_samples,
)

ROOT = Path(__file__).resolve().parents[1]


def check(knowledge: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", str(knowledge)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def records(path: Path) -> dict[str, dict[str, object]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        r["id"]: r for section in ("structures", "services", "orienteurs") for r in data[section]
    }


def test_first_import_writes_a_reviewable_file_that_passes_check(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    result = run_import(knowledge, gazetteer)
    assert result.ok and result.written
    report = "\n".join(result.lines)
    assert (
        "13 ajoutée(s)" in report and "Vérification : la base de connaissances est valide" in report
    )
    text = imported_file(knowledge).read_text(encoding="utf-8")
    assert text.startswith("# Fiches importées de data·inclusion pour le département 54")
    assert "\nmeta:" not in text
    found = records(imported_file(knowledge))
    garage = found["mes-aides--garage-toulois--reparation"]
    assert garage["categorie"] == "garage_solidaire"
    assert garage["source"] == "mes-aides" and garage["telephone"] == "+33383000002"
    assert garage["horaires_accueil"] == "Mo-Fr 09:00-17:00; Sa 09:00-12:00"
    assert garage["zone_eligibilite"] == ["54"]  # the unknown code 99999 was dropped
    assert "courriel" not in garage  # invalid upstream: dropped, said in the report
    assert (
        found["dora--plateforme-mobilite-54--accompagnement"]["categorie"] == "plateforme_mobilite"
    )
    assert found["dora--cae-nancy--entrepreneur-salarie"]["categorie"] == "cae"
    assert found["dora--ea-lunevillois--emploi"]["categorie"] == "ea"
    assert (
        found["dora--auto-ecole-metz--permis-pont-a-mousson"]["categorie"] == "auto_ecole_solidaire"
    )
    # A service in 54 brings its structure from Metz with it.
    assert found["dora--auto-ecole-metz"]["categories"] == ["auto_ecole_solidaire"]
    # France Travail becomes a referent; its own service is not imported.
    assert found["france-travail--agence-toul"]["categories"] == ["france_travail"]
    assert "france-travail--agence-toul--accompagnement" not in found
    # Out of the département, unmapped, national or invalid: not written.
    for absent in (
        "dora--aci-metz--recyclerie",
        "dora--bge-nancy--creation",
        "dora--centre-social-vandoeuvre--numerique",
        "dora--numero-vert-national--conseil",
        "dora--mauvaise-fiche",
        "dora--ea-lunevillois--sans-description",
    ):
        assert absent not in found
    # Stable order: sorted by id in each section.
    ids = [r["id"] for r in yaml.safe_load(text)["services"]]
    assert ids == sorted(ids)
    outcome = result.outcome
    assert outcome is not None
    assert outcome.unmapped == 2 and outcome.national_remote == 1
    assert outcome.unmapped_by_thematique["numerique--maitriser-les-fondamentaux-du-numerique"] == 1
    assert outcome.unmapped_by_reseau["reseau-bge"] == 1
    assert "Non reconnus : 2 services" in report
    assert any("dora--mauvaise-fiche" in line and "fiche 11" in line for line in outcome.invalid)
    assert any("pas-un-courriel" in line for line in outcome.dropped_fields)
    completed = check(knowledge)
    assert completed.returncode == 0, completed.stdout
    assert "valide" in completed.stdout


def test_the_check_after_an_import_fills_the_compiled_cache_a_reload_then_reads(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    """The import's own check parses the file it wrote: the bot's next reload (or start) reads
    it, and the rest of the base, from the compiled cache instead of parsing them again."""
    knowledge = copy_knowledge(tmp_path / "knowledge")
    result = run_import(knowledge, gazetteer, cache=KnowledgeCache.of_base(knowledge))
    assert result.ok and result.written
    bot = KnowledgeCache.of_base(knowledge)  # as the bot's process finds it: what is on disk
    kb, report = load_with_problems(knowledge, gazetteer, today=TODAY, cache=bot)
    assert kb is not None and report.ok
    assert "mes-aides--garage-toulois--reparation" in {s.id for s in kb.services}
    assert bot.stats.files_parsed == 0 and bot.stats.files_from_disk > 0
    assert bot.stats.checks_run == 0  # the checks' results are kept too
    assert (kb, report) == load_with_problems(knowledge, gazetteer, today=TODAY)


def test_records_without_coordinates_get_their_commune_centre_with_a_comment(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    result = run_import(knowledge, gazetteer)
    toul = gazetteer.get("54528")
    assert toul is not None
    garage = records(imported_file(knowledge))["mes-aides--garage-toulois"]
    assert (garage["latitude"], garage["longitude"]) == (toul.lat, toul.lon)
    line = next(
        line
        for line in imported_file(knowledge).read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("latitude: 48.6761")
    )
    assert "# centre de la commune" in line
    assert result.outcome is not None and result.outcome.filled_coordinates == 2


def test_importing_again_changes_nothing_and_says_so(tmp_path: Path, gazetteer: Gazetteer) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    run_import(knowledge, gazetteer)
    first = imported_file(knowledge).read_text(encoding="utf-8")
    again = run_import(knowledge, gazetteer)
    assert again.outcome is not None
    assert again.outcome.unchanged == 13 and not again.outcome.added and not again.outcome.changed
    assert imported_file(knowledge).read_text(encoding="utf-8") == first


def test_csv_files_give_the_same_records_as_json(tmp_path: Path, gazetteer: Gazetteer) -> None:
    from_json = copy_knowledge(tmp_path / "a")
    from_csv = copy_knowledge(tmp_path / "b")
    run_import(from_json, gazetteer)
    run_import(
        from_csv,
        gazetteer,
        SAMPLES / "structures-inclusion-2026-11-24.csv",
        SAMPLES / "services-inclusion-2026-11-24.csv",
    )
    assert records(imported_file(from_json)) == records(imported_file(from_csv))


def test_a_reimport_reports_added_changed_and_closed_records(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    run_import(knowledge, gazetteer)
    structures, services = (
        sample("structures-inclusion-2026-11-24.json"),
        sample("services-inclusion-2026-11-24.json"),
    )
    garage = next(s for s in services if s["id"] == "mes-aides--garage-toulois--reparation")
    garage["telephone"] = "+33383111111"
    services = [s for s in services if s["id"] != "dora--ea-lunevillois--emploi"]
    services.append(
        {
            "source": "dora",
            "structure_id": "dora--cae-nancy",
            "id": "dora--cae-nancy--reunion-information",
            "nom": "Réunion d'information sur la coopérative",
            "description": "Chaque mois, venez découvrir le fonctionnement de la coopérative.",
            "date_maj": "2026-11-20",
            "thematiques": ["creer-une-entreprise--definir-son-projet-de-creation-dentreprise"],
        }
    )
    newer = write_samples(tmp_path / "newer", structures, services)
    result = run_import(knowledge, gazetteer, newer)
    outcome = result.outcome
    assert outcome is not None and result.ok
    assert [key[1] for key in outcome.added] == ["dora--cae-nancy--reunion-information"]
    assert [(key[1], fields) for key, fields in outcome.changed] == [
        ("mes-aides--garage-toulois--reparation", ["telephone"])
    ]
    assert [key[1] for key in outcome.closed] == ["dora--ea-lunevillois--emploi"]
    report = "\n".join(result.lines)
    assert "1 ajoutée(s), 1 modifiée(s) en amont, 1 fermée(s)" in report
    assert "mes-aides--garage-toulois--reparation (telephone)" in report
    found = records(imported_file(knowledge))
    assert found["dora--ea-lunevillois--emploi"]["statut"] == "ferme"  # kept, marked closed
    assert found["mes-aides--garage-toulois--reparation"]["telephone"] == "+33383111111"
    # A closed service is never proposed, but the knowledge base still loads.
    kb = load_knowledge(knowledge, gazetteer, today=TODAY)
    closed = next(s for s in kb.services if s.id == "dora--ea-lunevillois--emploi")
    assert closed.statut == "ferme"


def test_a_record_edited_by_hand_is_kept_verbatim_and_reported(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    run_import(knowledge, gazetteer)
    path = imported_file(knowledge)
    text = path.read_text(encoding="utf-8")
    edited = text.replace(
        '    telephone: "+33383000003"\n',
        '    telephone: "+33383999999"  # vérifié par téléphone le 28/11 (Marie, CD54)\n',
    )
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    structures, services = (
        sample("structures-inclusion-2026-11-24.json"),
        sample("services-inclusion-2026-11-24.json"),
    )
    platform = next(s for s in structures if s["id"] == "dora--plateforme-mobilite-54")
    platform["adresse"] = "7 place Carnot"  # upstream changes too
    result = run_import(
        knowledge, gazetteer, write_samples(tmp_path / "newer", structures, services)
    )
    assert result.ok
    after = path.read_text(encoding="utf-8")
    assert (
        '    telephone: "+33383999999"  # vérifié par téléphone le 28/11 (Marie, CD54)\n' in after
    )
    assert '"7 place Carnot"' not in after
    outcome = result.outcome
    assert outcome is not None
    assert [(k[1], note) for k, note in outcome.kept_edited] == [
        ("dora--plateforme-mobilite-54", "mise à jour en amont non appliquée (adresse, telephone)")
    ]
    assert "Modifiées à la main, laissées telles quelles : 1" in "\n".join(result.lines)
    # Still left alone on the next import; --reprendre takes the upstream version back.
    third = run_import(knowledge, gazetteer, tmp_path / "newer")
    assert third.outcome is not None and len(third.outcome.kept_edited) == 1
    resumed = run_import(
        knowledge, gazetteer, tmp_path / "newer", resume=("dora--plateforme-mobilite-54",)
    )
    assert resumed.outcome is not None and resumed.outcome.resumed
    assert records(path)["dora--plateforme-mobilite-54"]["adresse"] == "7 place Carnot"


def test_a_record_deleted_by_hand_is_not_brought_back(tmp_path: Path, gazetteer: Gazetteer) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    run_import(knowledge, gazetteer)
    path = imported_file(knowledge)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = (
        next(
            i for i, line in enumerate(lines) if "id: dora--cae-nancy--entrepreneur-salarie" in line
        )
        - 1
    )
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  - "))
    path.write_text("".join(lines[:start] + lines[end:]), encoding="utf-8")
    assert (
        len(yaml.safe_load(path.read_text(encoding="utf-8"))["services"])
        == len(data["services"]) - 1
    )
    result = run_import(knowledge, gazetteer)
    assert result.outcome is not None
    assert [k[1] for k in result.outcome.deleted_by_admin] == [
        "dora--cae-nancy--entrepreneur-salarie"
    ]
    assert "dora--cae-nancy--entrepreneur-salarie" not in records(path)


def test_an_id_already_in_a_hand_written_file_is_not_written_twice(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    run_import(knowledge, gazetteer)
    garage = records(imported_file(knowledge))["mes-aides--garage-toulois--reparation"]
    hand_written = knowledge / "departements" / "54.yaml"
    text = hand_written.read_text(encoding="utf-8")
    moved = yaml.safe_dump([garage], allow_unicode=True, sort_keys=False)
    indented = "".join(f"  {line}" for line in moved.splitlines(keepends=True))
    text = text.replace("\nservices:\n", "\nservices:\n" + indented, 1)
    hand_written.write_text(text, encoding="utf-8")
    result = run_import(knowledge, gazetteer)
    assert result.ok, result.errors
    assert result.outcome is not None
    assert result.outcome.elsewhere == [
        "mes-aides--garage-toulois--reparation (departements/54.yaml)"
    ]
    assert "mes-aides--garage-toulois--reparation" not in records(imported_file(knowledge))
    assert check(knowledge).returncode == 0


def test_an_import_that_would_break_the_knowledge_base_is_rolled_back(
    tmp_path: Path, gazetteer: Gazetteer
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    run_import(knowledge, gazetteer)
    path = imported_file(knowledge)
    broken = path.read_text(encoding="utf-8").replace(
        "categories: [cae]", "categories: [caee]"
    )  # an admin's typo in a record they edited
    path.write_text(broken, encoding="utf-8")
    state_before = state_path(path).read_text(encoding="utf-8")
    result = run_import(
        knowledge,
        gazetteer,
        write_samples(
            tmp_path / "same",
            sample("structures-inclusion-2026-11-24.json"),
            sample("services-inclusion-2026-11-24.json"),
        ),
    )
    assert not result.ok and not result.written
    assert any("caee" in problem.message for problem in result.errors)
    assert "l'import est annulé" in "\n".join(result.lines)
    assert path.read_text(encoding="utf-8") == broken  # nothing lost, nothing half-written
    assert state_path(path).read_text(encoding="utf-8") == state_before


def test_simulation_reports_without_writing(tmp_path: Path, gazetteer: Gazetteer) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    result = run_import(knowledge, gazetteer, simulation=True)
    assert "SIMULATION" in result.lines[0] and "13 ajoutée(s)" in "\n".join(result.lines)
    assert not imported_file(knowledge).exists()
    assert not state_path(imported_file(knowledge)).exists()


def test_the_command_reports_in_french_and_an_unreadable_file_loses_nothing(tmp_path: Path) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "import", "data-inclusion", str(SAMPLES),
         "--departement", "54", "--knowledge", str(knowledge)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "13 ajoutée(s)" in ok.stdout and "In English: 13 added" in ok.stdout
    before = imported_file(knowledge).read_text(encoding="utf-8")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "structures-inclusion-2026-12-01.json").write_text('[{"id": "x"', encoding="utf-8")
    (bad / "services-inclusion-2026-12-01.json").write_text("[]", encoding="utf-8")
    failed = subprocess.run(
        [sys.executable, "-m", "bot", "import", "data-inclusion", str(bad),
         "--departement", "54", "--knowledge", str(knowledge)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert failed.returncode == 1
    assert "structures-inclusion-2026-12-01.json" in failed.stderr
    assert "JSON mal formé" in failed.stderr
    assert imported_file(knowledge).read_text(encoding="utf-8") == before


def test_a_commune_import_touches_only_that_commune(tmp_path: Path, gazetteer: Gazetteer) -> None:
    from bot.data_inclusion.files import find_files
    from bot.data_inclusion.gather import Scope
    from bot.data_inclusion.run import Importer, ImportRequest

    knowledge = copy_knowledge(tmp_path / "knowledge")
    run_import(knowledge, gazetteer)  # the whole département first
    request = ImportRequest(knowledge, Scope("54", "54528"), "Meurthe-et-Moselle", today=TODAY)
    services = [
        s
        for s in sample("services-inclusion-2026-11-24.json")
        if s["id"] != "mes-aides--garage-toulois--reparation"  # gone from Toul
    ]
    newer = write_samples(
        tmp_path / "newer", sample("structures-inclusion-2026-11-24.json"), services
    )
    result = Importer(request, gazetteer).from_files(find_files([newer]))
    assert result.ok and result.outcome is not None
    assert [k[1] for k in result.outcome.closed] == ["mes-aides--garage-toulois--reparation"]
    found = records(imported_file(knowledge))
    # Nancy's records were outside this import: still there, still open.
    assert found["dora--cae-nancy--entrepreneur-salarie"].get("statut", "actif") == "actif"
    assert found["mes-aides--garage-toulois--reparation"]["statut"] == "ferme"
