"""`aiguillage import data-inclusion …` and `aiguillage export data-inclusion …`.

    aiguillage import data-inclusion SOURCE… [--departement 54] [--commune 54395]
        [--knowledge DIR] [--simulation] [--reprendre ID]… [--sans-verification]
    aiguillage export data-inclusion [--knowledge DIR] [--departement 54] [--format json|csv] OUT

SOURCE is the API's base URL (https://…; token in AIGUILLAGE_DATA_INCLUSION_TOKEN) or files as
published in open data (structures and services, JSON or CSV), or a folder holding them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.kb.knowledge import KnowledgeError


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `import` and `export` on the `aiguillage` sub-command parser."""
    importing = sub.add_parser("import", help="importer des fiches (data·inclusion)")
    kinds = importing.add_subparsers(dest="what", required=True)
    parser = kinds.add_parser(
        "data-inclusion",
        parents=[common],
        help="importer les structures et services data·inclusion d'un département",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="URL de l'API, fichiers ou dossier"
    )
    parser.add_argument("--commune", help="seulement cette commune (code INSEE)")
    parser.add_argument("--correspondances", type=Path, help="autre fichier de correspondances")
    parser.add_argument(
        "--simulation", action="store_true", help="rapport seulement, rien n'est écrit"
    )
    parser.add_argument(
        "--reprendre", action="append", default=[], metavar="ID",
        help="reprendre la version de data·inclusion de cette fiche (annule une correction)",
    )  # fmt: skip
    parser.add_argument(
        "--sans-verification", action="store_true", help="ne pas lancer check après"
    )
    parser.add_argument("--jeton-env", default=None, help="variable d'environnement du jeton")
    parser.add_argument("--taille-page", type=int, default=1000, help="fiches par page de l'API")
    exporting = sub.add_parser("export", help="exporter des fiches (data·inclusion)")
    kinds = exporting.add_subparsers(dest="what", required=True)
    parser = kinds.add_parser(
        "data-inclusion", parents=[common], help="exporter les fiches locales au format v1"
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="dossier de sortie")
    parser.add_argument("--format", choices=("json", "csv"), default="json")
    parser.add_argument(
        "--toutes-sources", action="store_true",
        help="aussi les fiches venues d'ailleurs que « local » (déjà dans data·inclusion)",
    )  # fmt: skip


def run_import(config: Config, args: argparse.Namespace) -> int:
    from bot.data_inclusion.client import TOKEN_VARIABLE
    from bot.data_inclusion.files import SourceError, find_files
    from bot.data_inclusion.gather import Scope
    from bot.data_inclusion.run import Importer, ImportRequest
    from bot.kb.cache import GAZETTEER_FILE, KnowledgeCache
    from bot.places import Gazetteer

    gazetteer = Gazetteer.load(config.knowledge / GAZETTEER_FILE)
    departement, commune_code = config.departement, None
    if args.commune:
        commune = gazetteer.get(args.commune)
        if commune is None:
            print(f"Commune inconnue « {args.commune} » (code INSEE attendu).", file=sys.stderr)
            return 2
        departement, commune_code = commune.dept, commune.insee
    request = ImportRequest(
        knowledge=config.knowledge,
        scope=Scope(departement, commune_code),
        departement_name=_departement_name(config.knowledge, departement),
        mapping=args.correspondances,
        resume=tuple(args.reprendre),
        simulation=args.simulation,
        verify=not args.sans_verification,
        cache=KnowledgeCache.of_base(config.knowledge),  # the running bot's
    )
    importer = Importer(request, gazetteer)
    try:
        if len(args.sources) == 1 and args.sources[0].startswith(("http://", "https://")):
            token = os.environ.get(args.jeton_env or TOKEN_VARIABLE) or None
            result = asyncio.run(_from_api(importer, args.sources[0], token, args.taille_page))
        else:
            result = importer.from_files(find_files([Path(s) for s in args.sources]))
    except SourceError as error:
        print(f"Import impossible : {error}", file=sys.stderr)
        return 1
    except KnowledgeError as error:
        print(
            "Import impossible : ces fichiers ont des erreurs. / Import impossible.",
            file=sys.stderr,
        )
        for problem in error.problems:
            print(str(problem), file=sys.stderr)
        return 1
    for line in result.lines:
        print(line)
    for problem in result.errors:
        print(str(problem), file=sys.stderr)
    return 0 if result.ok else 1


async def _from_api(importer: Any, base_url: str, token: str | None, page_size: int) -> Any:
    from bot.data_inclusion.client import ApiClient

    async with ApiClient(base_url, token, page_size=page_size) as client:
        return await importer.from_api(client)


def _departement_name(knowledge: Path, departement: str) -> str:
    import yaml

    path = knowledge / "departements" / f"{departement}.yaml"
    try:
        data = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
        return str(data["meta"]["nom"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return ""


def run_export(config: Config, args: argparse.Namespace) -> int:
    from bot.data_inclusion.exporter import export_knowledge
    from bot.kb.loader import load_knowledge
    from bot.places import Gazetteer

    gazetteer = Gazetteer.load(config.knowledge / "communes.csv.gz")
    kb = load_knowledge(config.knowledge, gazetteer)  # KnowledgeError → reported by bot.cli
    departement = args.departement.zfill(2) if getattr(args, "departement", None) else None
    result = export_knowledge(
        kb,
        gazetteer,
        args.out,
        departement=departement,
        fmt=args.format,
        all_sources=args.toutes_sources,
    )
    for line in result.lines:
        print(line)
    return 0 if result.ok else 1


def run(config: Config, args: argparse.Namespace) -> int:
    return run_import(config, args) if args.command == "import" else run_export(config, args)
