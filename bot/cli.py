"""The `aiguillage` command (also `python -m bot`).

aiguillage                      chat in the terminal on the shipped knowledge base
aiguillage chat [--jsonl]       the same, or the JSON-lines contract on stdin/stdout
aiguillage run --adapter NAME   serve Telegram or Matrix
aiguillage check [DIR]          validate a knowledge base (file:line:col: message;
                                --format json, --production)
aiguillage reload               make the running bot reload its knowledge base
aiguillage link CODE …          a counsellor's deep links and QR code
aiguillage stats                usage figures and questions the bot could not answer
aiguillage rappels              call-back requests for counsellors
aiguillage test [FILES]         play conversation stories (bot/cli_test.py)
aiguillage dashboard            the admins' web dashboard (figures, questions, call-backs)
aiguillage import data-inclusion SOURCE…   import structures and services (API or open data)
aiguillage export data-inclusion OUT       export curated records as data·inclusion v1
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import cli_counsellors, cli_dashboard, cli_data_inclusion, cli_test
from bot.config import Config, ConfigError, load_config
from bot.kb.knowledge import KnowledgeError
from bot.logs import install_private_logging
from bot.store_errors import StoreError

log = logging.getLogger("aiguillage")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"Erreur de configuration : {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_private_logging()  # no text, name or phone number in the logs, at any level
    # httpx logs every request URL, and Telegram's URLs contain the bot token.
    for noisy in ("httpx", "httpcore", "telegram.ext", "nio.rooms", "nio.client", "nio.responses"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
    command = args.command or "chat"
    try:
        handler = COMMANDS[command]
        return handler(config, args)
    except KnowledgeError as exc:
        print("La base de connaissances a des erreurs. Le bot ne démarre pas.", file=sys.stderr)
        print("The knowledge base has errors. The bot does not start.", file=sys.stderr)
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"Erreur de configuration : {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    top = _common_options(argparse.ArgumentParser(add_help=False), None)
    # On sub-commands the options must not reset what was given before the sub-command.
    common = _common_options(argparse.ArgumentParser(add_help=False), argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="aiguillage",
        description=__doc__,
        parents=[top],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", parents=[common], help="discuter dans le terminal")
    chat.add_argument("--jsonl", action="store_true", help="contrat JSON-lines sur stdin/stdout")
    chat.add_argument("--user", default="moi", help="identifiant de la personne (console)")
    run = sub.add_parser("run", parents=[common], help="servir Telegram ou Matrix")
    run.add_argument("--adapter", help="telegram ou matrix (sinon : config.yaml)")
    check = sub.add_parser("check", parents=[common], help="vérifier la base de connaissances")
    check.add_argument("directory", nargs="?", type=Path)
    check.add_argument("--format", choices=["texte", "json"], default="texte",
                       help="json : une liste de problèmes pour les outils")  # fmt: skip
    check.add_argument("--production", action="store_true",
                       help="les fiches d'exemple sont des erreurs")  # fmt: skip
    sub.add_parser("reload", parents=[common], help="recharger la base du bot en marche")
    stats = sub.add_parser("stats", parents=[common], help="chiffres d'usage et questions")
    stats.add_argument("--jours", type=int, default=30)
    stats.add_argument("--json", action="store_true")
    stats.add_argument(
        "--purger-questions", action="store_true", help="effacer les questions non comprises"
    )
    cli_counsellors.add_parsers(sub, common)  # link, rappels
    cli_test.register(sub, common)
    cli_dashboard.add_parser(sub, common)
    cli_data_inclusion.add_parsers(sub, common)  # import / export data-inclusion
    return parser


def _common_options(parser: argparse.ArgumentParser, default: object) -> argparse.ArgumentParser:
    parser.add_argument("--config", type=Path, default=default, help="fichier config.yaml")
    parser.add_argument("--departement", default=default, help="département (ex. 54)")
    parser.add_argument(
        "--knowledge", type=Path, default=default, help="dossier de la base de connaissances"
    )
    parser.add_argument("--db", type=Path, default=default, help="fichier SQLite")
    return parser


def _config(args: argparse.Namespace) -> Config:
    path = args.config
    if path is None and Path("config.yaml").exists():
        path = Path("config.yaml")
    config = load_config(path)
    return config.with_overrides(
        departement=args.departement.zfill(2) if args.departement else None,
        knowledge=args.knowledge,
        database=args.db,
    )


# --- commands -------------------------------------------------------------------------------


def _cmd_chat(config: Config, args: argparse.Namespace) -> int:
    from bot.cli_serve import cmd_chat

    return cmd_chat(config, args)


def _cmd_run(config: Config, args: argparse.Namespace) -> int:
    from bot.cli_serve import cmd_run

    return cmd_run(config, args)


def _cmd_check(config: Config, args: argparse.Namespace) -> int:
    from bot.kb.cache import KnowledgeCache
    from bot.kb.check_cli import Format, run_check
    from bot.places import Gazetteer

    directory = args.directory or config.knowledge
    communes = config.knowledge / "communes.csv.gz"
    gazetteer = Gazetteer.load(communes)
    cache = KnowledgeCache.beside(directory, gazetteer_file=communes)
    output: Format = "json" if getattr(args, "format", "texte") == "json" else "texte"
    production = bool(getattr(args, "production", False))
    try:
        return run_check(
            directory, gazetteer, sys.stdout, cache=cache, output=output, production=production
        )
    except BrokenPipeError:  # `aiguillage check | head`: the reader has seen enough
        from bot.cli_serve import _silence_stdout

        _silence_stdout()
        return 1


def _cmd_reload(config: Config, args: argparse.Namespace) -> int:
    from bot.cli_serve import cmd_reload

    return cmd_reload(
        config, args, check=lambda c: _cmd_check(c, argparse.Namespace(directory=None))
    )


def _cmd_stats(config: Config, args: argparse.Namespace) -> int:
    return asyncio.run(_stats(config, args))


async def _stats(config: Config, args: argparse.Namespace) -> int:
    from bot.store import Store
    from bot.terminal import json_printable, printable

    since = (dt.date.today() - dt.timedelta(days=args.jours)).isoformat()
    async with Store.open(config.database, exclusive=False) as store:
        if args.purger_questions:
            count = await store.purge_unanswered()
            print(f"{count} question(s) effacée(s). / {count} question(s) erased.")
            return 0
        summary = await store.usage_summary(since)
        questions = await store.unanswered_questions()
        codes = await store.referrals()
        figures = await store.code_figures(since)
    if args.json:
        document = {
            "depuis": since,
            **summary,
            "codes": {code: r.label for code, r in codes.items()},
            "par_code_chiffres": figures,
            "questions": questions,
        }
        print(json_printable(json.dumps(document, ensure_ascii=False, indent=2)))
        return 0
    print(f"Depuis le {since} : {summary['personnes']} personnes, {summary['messages']} messages.")
    for title, key in (
        ("Par type", "par_type"),
        ("Par besoin", "par_besoin"),
        ("Par catégorie / FAQ", "par_categorie"),
        ("Par plateforme", "par_plateforme"),
        ("Par code conseiller", "par_code"),
    ):
        if summary[key]:
            print(f"\n{title} :")
            for name, count in summary[key].items():
                print(f"  {printable(name):<32} {count}")
    if codes or figures:
        print("\nCodes conseillers : personnes venues, dont avec un résultat, demandes de rappel")
        for code in sorted(set(codes) | set(figures)):
            label = codes[code].label if code in codes else ""
            f = figures.get(code, {"personnes": 0, "resultats": 0, "rappels": 0})
            print(f"  {printable(code):<20} {printable(label or ''):<32} {f['personnes']:>5}"
                  f" {f['resultats']:>5} {f['rappels']:>5}")  # fmt: skip
    print(f"\nQuestions non comprises ({len(questions)} dernières) :")
    for q in questions:
        hint = f"  [proche : {q['best_match']} {q['score']:.0f}]" if q["best_match"] else ""
        print(f"  - {printable(q['text'])}{hint}")
    return 0


COMMANDS = {
    "chat": _cmd_chat,
    "run": _cmd_run,
    "check": _cmd_check,
    "reload": _cmd_reload,
    "link": cli_counsellors.link,
    "stats": _cmd_stats,
    "rappels": cli_counsellors.rappels,
    "test": cli_test.command,
    "dashboard": cli_dashboard.run,
    "import": cli_data_inclusion.run,
    "export": cli_data_inclusion.run,
}
