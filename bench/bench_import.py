"""Import benchmark: `aiguillage import data-inclusion` on generated open-data files.

A seeded generator writes `structures-inclusion-*.json` and `services-inclusion-*.json` in the
published v1 shape (every field a real export has, descriptions of 200 to 900 characters, a tenth
without coordinates, a tenth that no rule maps), all in one département. Then, each in a real
subprocess whose peak RSS is read with wait4:

1. the first import (nothing there yet), without and with the final `aiguillage check`;
2. the same import again (every record unchanged);
3. the start-up of the bot (JSON-lines mode, time to the first answer) on the shipped knowledge
   base plus an imported file of `--startup-services` services.

    python -m bench.bench_import [--services 100000] [--startup-services 20000] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_turns import measure
from bot.config import DEFAULT_KNOWLEDGE
from bot.places import Commune, Gazetteer

DEPARTEMENT = "54"
WORDS = (
    "accompagnement",
    "emploi",
    "insertion",
    "chantier",
    "atelier",
    "mobilité",
    "permis",
    "garage",
    "réparation",
    "voiture",
    "conseiller",
    "rendez-vous",
    "formation",
    "parcours",
    "coopérative",
    "projet",
    "aide",
    "solidaire",
    "quartier",
    "public",
    "contrat",
    "équipe",
    "horaires",
    "inscription",
    "démarches",
    "vous",
    "nous",
    "pouvez",
    "venir",
    "appeler",
    "orientation",
)
KINDS: list[tuple[list[str], list[str], str, str]] = [
    # (reseaux_porteurs, thematiques, type, name) of the structure and its services
    (["aci"], ["trouver-un-emploi--repondre-a-des-offres-demploi"], "accompagnement", "Chantier"),
    (["ei"], ["trouver-un-emploi--repondre-a-des-offres-demploi"], "accompagnement", "Entreprise"),
    (["ai"], ["trouver-un-emploi--repondre-a-des-offres-demploi"], "accompagnement", "Association"),
    (["ea"], ["trouver-un-emploi--maintien-dans-lemploi"], "accompagnement", "Atelier adapté"),
    (["mobin"], ["mobilite--etre-accompagne-dans-son-parcours-mobilite"], "accompagnement",
     "Mobilité"),
    ([], ["mobilite--entretenir-reparer-son-vehicule"], "aide-materielle", "Garage solidaire"),
    ([], ["mobilite--preparer-un-permis"], "formation", "Auto-école sociale"),
    (["etcld"], ["trouver-un-emploi--repondre-a-des-offres-demploi"], "accompagnement", "EBE"),
    ([], ["numerique--maitriser-les-fondamentaux-du-numerique"], "atelier", "Espace numérique"),
    ([], ["famille--garde-denfants"], "accompagnement", "Relais parents"),
]  # fmt: skip


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < rng.randint(low, high):
        words.append(rng.choice(WORDS))
    return " ".join(words).capitalize() + "."


def generate(directory: Path, services: int, seed: int) -> None:
    """Write the two files; about three services per structure."""
    rng = random.Random(seed)
    gazetteer = Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")
    communes: list[Commune] = [
        c for c in gazetteer if c.dept == DEPARTEMENT and c.lat is not None and c.postal_codes
    ]
    directory.mkdir(parents=True, exist_ok=True)
    structure_count = max(1, services // 3)
    kinds = [rng.randrange(len(KINDS)) for _ in range(structure_count)]
    places = [rng.choice(communes) for _ in range(structure_count)]
    with (directory / "structures-inclusion-2026-11-24.json").open("w", encoding="utf-8") as out:
        out.write("[\n")
        for n in range(structure_count):
            reseaux, _, _, name = KINDS[kinds[n]]
            out.write(("," if n else "") + json.dumps(_structure(rng, n, places[n], reseaux, name)))
        out.write("\n]\n")
    with (directory / "services-inclusion-2026-11-24.json").open("w", encoding="utf-8") as out:
        out.write("[\n")
        for n in range(services):
            owner = n % structure_count
            _, thematiques, kind, name = KINDS[kinds[owner]]
            record = _service(rng, n, owner, places[owner], thematiques, kind, name)
            out.write(("," if n else "") + json.dumps(record, ensure_ascii=False))
        out.write("\n]\n")


def _structure(
    rng: random.Random, n: int, commune: Commune, reseaux: list[str], name: str
) -> dict[str, Any]:
    located = rng.random() > 0.1
    return {
        "source": "dora",
        "id": f"dora--s{n}",
        "nom": f"{name} {commune.name} {n}",
        "date_maj": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
        "description": _sentence(rng, 80, 300),
        "lien_source": f"https://dora.inclusion.gouv.fr/structures/s{n}",
        "siret": f"{rng.randrange(10**13, 10**14)}",
        "commune": commune.name,
        "code_postal": commune.postal_codes[0],
        "code_insee": commune.insee,
        "adresse": f"{rng.randint(1, 120)} rue de la République",
        "complement_adresse": None,
        "longitude": round((commune.lon or 0) + rng.uniform(-0.01, 0.01), 5) if located else None,
        "latitude": round((commune.lat or 0) + rng.uniform(-0.01, 0.01), 5) if located else None,
        "telephone": f"+333{rng.randrange(10**7, 10**8)}",
        "courriel": f"contact{n}@exemple.fr",
        "site_web": f"https://structure{n}.exemple.fr",
        "horaires_accueil": "Mo-Fr 09:00-12:00,14:00-17:00; PH off",
        "accessibilite_lieu": None,
        "reseaux_porteurs": reseaux,
        "score_qualite": round(rng.random(), 2),
        "doublons": [],
    }


def _service(
    rng: random.Random,
    n: int,
    owner: int,
    commune: Commune,
    thematiques: list[str],
    kind: str,
    name: str,
) -> dict[str, Any]:
    return {
        "source": "dora",
        "structure_id": f"dora--s{owner}",
        "id": f"dora--s{owner}--{n}",
        "nom": f"{name} : {_sentence(rng, 10, 40)[:-1]}",
        "description": _sentence(rng, 200, 900),
        "lien_source": f"https://dora.inclusion.gouv.fr/services/{n}",
        "date_maj": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
        "type": kind,
        "thematiques": thematiques,
        "frais": rng.choice(["gratuit", "payant"]),
        "frais_precisions": None,
        "publics": ["demandeurs-emploi", "beneficiaires-des-minimas-sociaux"],
        "publics_precisions": None,
        "conditions_acces": _sentence(rng, 20, 120),
        "commune": commune.name,
        "code_postal": commune.postal_codes[0],
        "code_insee": commune.insee,
        "adresse": None,
        "complement_adresse": None,
        "longitude": None,
        "latitude": None,
        "telephone": f"+333{rng.randrange(10**7, 10**8)}",
        "courriel": None,
        "modes_accueil": ["en-presentiel"],
        "zone_eligibilite": [DEPARTEMENT],
        "contact_nom_prenom": None,
        "lien_mobilisation": None,
        "modes_mobilisation": ["se-presenter", "telephoner"],
        "mobilisable_par": ["usagers", "professionnels"],
        "mobilisation_precisions": None,
        "volume_horaire_hebdomadaire": None,
        "nombre_semaines": None,
        "horaires_accueil": "Mo-Fr 09:00-17:00",
        "score_qualite": round(rng.random(), 2),
    }


def run_import(source: Path, knowledge: Path, *extra: str) -> dict[str, float]:
    """Wall time and peak RSS of one `aiguillage import data-inclusion` subprocess."""
    command = [sys.executable, "-m", "bot", "import", "data-inclusion", str(source),
               "--departement", DEPARTEMENT, "--knowledge", str(knowledge), *extra]  # fmt: skip
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS
        elapsed = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        report, errors = out.read(), err.read()
    if process.returncode != 0:
        raise SystemExit(f"import failed:\n{report}\n{errors}")
    summary = next((line for line in report.splitlines() if line.startswith("Résultat")), "")
    print(f"  {summary}")
    return {"seconds": round(elapsed, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--startup-services", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        source = base / "source"
        generate(source, args.services, args.seed)
        size = sum(p.stat().st_size for p in source.iterdir()) / 1e6
        print(f"generated {args.services} services ({size:.0f} MB of JSON)")
        knowledge = base / "knowledge"
        shutil.copytree(DEFAULT_KNOWLEDGE, knowledge)
        print("first import, without the final check:")
        results["first_import"] = run_import(source, knowledge, "--sans-verification")
        print("same import again (all unchanged), without the final check:")
        results["reimport"] = run_import(source, knowledge, "--sans-verification")
        shutil.rmtree(knowledge)
        shutil.copytree(DEFAULT_KNOWLEDGE, knowledge)
        print("first import, with the final check of the whole knowledge base:")
        results["first_import_checked"] = run_import(source, knowledge)
        results["services"] = args.services

        startup_source = base / "startup-source"
        generate(startup_source, args.startup_services, args.seed)
        startup_kb = base / "startup-knowledge"
        shutil.copytree(DEFAULT_KNOWLEDGE, startup_kb)
        print(f"import of {args.startup_services} services for the start-up measure:")
        run_import(startup_source, startup_kb, "--sans-verification")
        turns = measure(startup_kb, users=10)
        results["startup_with_imported_services"] = {
            "services_imported": args.startup_services,
            "startup_s": turns["startup_s"],
            "peak_rss_mb": turns["peak_rss_mb"],
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
