"""Generate a national-scale knowledge base for benchmarks (never shipped, never committed).

Every département of the gazetteer (metropolitan and overseas) gets a file with the same shape as
the shipped ones: `--per-departement` services spread over its most populous communes, across all
structure categories, plus referents. The common files (categories, rules, FAQ, lexicon) are the
shipped ones.

    python -m bench.national_kb OUT_DIR [--per-departement 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from bot.config import DEFAULT_KNOWLEDGE
from bot.kb.vocab import REFERENT_CATEGORIES, STRUCTURE_CATEGORIES
from bot.places import Commune, Gazetteer

RULE_OF = {
    "aci": "iae_aci_ei_eiti",
    "ei": "iae_aci_ei_eiti",
    "eiti": "iae_aci_ei_eiti",
    "ai": "iae_ai_etti",
    "etti": "iae_ai_etti",
    "cjs": "cjs",
    "cjm": "cjm",
    "ea": "ea",
    "eatt": "ea",
}


def generate(out: Path, per_departement: int, seed: int) -> int:
    rng = random.Random(seed)
    gazetteer = Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(DEFAULT_KNOWLEDGE / "commun", out / "commun")
    shutil.copy(DEFAULT_KNOWLEDGE / "communes.csv.gz", out / "communes.csv.gz")
    (out / "departements").mkdir(parents=True)
    by_dept: dict[str, list[Commune]] = defaultdict(list)
    for commune in gazetteer:
        if commune.lat is not None and commune.population:
            by_dept[commune.dept].append(commune)
    total = 0
    for dept, communes in sorted(by_dept.items()):
        if len(dept) == 3 and not dept.startswith("97"):
            continue
        communes.sort(key=lambda c: -(c.population or 0))
        towns = communes[:40]
        document = _departement(dept, towns, per_departement, rng)
        total += len(document["services"])
        path = out / "departements" / f"{dept}.yaml"
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        text = yaml.dump(document, Dumper=dumper, allow_unicode=True, sort_keys=False)
        path.write_text(text, "utf-8")
    return total


def _departement(dept: str, towns: list[Commune], count: int, rng: random.Random) -> dict[str, Any]:
    structures, services, orienteurs = [], [], []
    for n in range(count):
        town = rng.choice(towns)
        cat = STRUCTURE_CATEGORIES[n % len(STRUCTURE_CATEGORIES)]
        sid = f"bench--{dept}-{n}"
        structures.append(
            {
                "source": "bench",
                "id": sid,
                "nom": f"Structure {cat} {n} de {town.name}",
                "date_maj": "2026-11-01",
                "commune": town.name,
                "code_insee": town.insee,
                "latitude": round((town.lat or 0) + rng.uniform(-0.02, 0.02), 5),
                "longitude": round((town.lon or 0) + rng.uniform(-0.02, 0.02), 5),
                "categories": [cat],
                "exemple": True,
            }
        )
        service: dict[str, Any] = {
            "source": "bench",
            "structure_id": sid,
            "id": f"{sid}-s",
            "nom": f"Service {cat} {n}",
            "description": "Service généré pour les mesures de performance.",
            "date_maj": "2026-11-01",
            "categorie": cat,
            "modes_accueil": ["en-presentiel"],
            "exemple": True,
        }
        if cat in RULE_OF:
            service["eligibilite"] = {"regle": RULE_OF[cat]}
        services.append(service)
    for n, kind in enumerate(REFERENT_CATEGORIES):
        town = towns[n % len(towns)]
        orienteurs.append(
            {
                "source": "bench",
                "id": f"bench--{dept}-ref-{n}",
                "nom": f"{kind} {town.name}",
                "date_maj": "2026-11-01",
                "commune": town.name,
                "code_insee": town.insee,
                "latitude": town.lat,
                "longitude": town.lon,
                "categories": [kind],
                "exemple": True,
            }
        )
    meta = {
        "departement": dept,
        "nom": f"Département {dept} (banc d'essai)",
        "date_maj": "2026-11-01",
    }
    return {"meta": meta, "structures": structures, "services": services, "orienteurs": orienteurs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-departement", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    total = generate(args.out, args.per_departement, args.seed)
    print(f"{total} services written to {args.out}")


if __name__ == "__main__":
    main()
