"""`aiguillage dashboard`: the admins' web dashboard.

aiguillage dashboard [--host 127.0.0.1] [--port 8080]   serve it (Ctrl+C stops it)
aiguillage dashboard --hash-password                     print a password hash for config.yaml
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import io
import ipaddress
import signal
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.config import Config, ConfigError

if TYPE_CHECKING:
    from bot.dashboard.settings import DashboardSettings


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the sub-command on `aiguillage`'s sub-parsers."""
    parser = sub.add_parser(
        "dashboard", parents=[common], help="tableau de bord web des administrateurs"
    )
    parser.add_argument("--host", help="adresse d'écoute (défaut : 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port d'écoute (défaut : 8080)")
    parser.add_argument(
        "--hash-password",
        action="store_true",
        help="demander un mot de passe et afficher son hachage à coller dans config.yaml",
    )


def run(config: Config, args: argparse.Namespace) -> int:
    from bot.dashboard.data import DatabaseMissing
    from bot.dashboard.settings import admin_hashes

    if getattr(args, "hash_password", False):
        return _hash_password()
    settings = _settings(config, args)
    changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if changes:
        settings = settings.model_copy(update=changes)
    if not 0 <= settings.port <= 65535:
        raise ConfigError("--port : un port va de 1 à 65535.")
    admins = admin_hashes(settings)
    if not _is_loopback(settings.host):
        print(
            f"Attention : le tableau de bord écoute sur {settings.host}, pas seulement sur cette "
            "machine. Mettez-le derrière un proxy HTTPS et réglez dashboard.secure_cookies: true. "
            "/ Warning: not bound to loopback; use a HTTPS reverse proxy.",
            file=sys.stderr,
        )
    try:
        return asyncio.run(_serve(config, settings, admins))
    except DatabaseMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:
        print(
            f"La base de données {config.database} est illisible ({exc}). "
            "/ The database cannot be read.",
            file=sys.stderr,
        )
        return 2
    except ListenError as exc:
        print(exc, file=sys.stderr)
        return 2


class ListenError(RuntimeError):
    """The address or port cannot be listened on; the message says what to try."""


async def _serve(config: Config, settings: DashboardSettings, admins: dict[str, str]) -> int:
    from aiohttp import web

    from bot.dashboard.data import DashboardData
    from bot.dashboard.faqedit import FaqEditor
    from bot.dashboard.labels import LabelSource
    from bot.dashboard.web import Dashboard, build_app
    from bot.kb.check_cli import run_check
    from bot.places import Gazetteer

    gazetteer = await asyncio.to_thread(Gazetteer.load, config.knowledge / "communes.csv.gz")

    def check(directory: Path) -> tuple[bool, str]:
        report = io.StringIO()
        return run_check(directory, gazetteer, report) == 0, report.getvalue()

    async with DashboardData.open(config.database) as data:
        dashboard = Dashboard(
            data=data,
            admins=admins,
            labels=LabelSource(config.knowledge, gazetteer),
            editor=FaqEditor(config.knowledge, check),
            settings=settings,
        )
        runner = web.AppRunner(
            build_app(dashboard), access_log_format='%a "%r" %s %b %Tfs', handle_signals=False
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.host, settings.port)
            try:
                await site.start()
            except OSError as exc:
                raise ListenError(
                    f"Impossible d'écouter sur {settings.host}:{settings.port} ({exc.strerror}). "
                    "Le port est peut-être déjà pris : essayez --port 8081. / Cannot listen there."
                ) from exc
            for address in runner.addresses:
                host, port = address[0], address[1]
                shown = f"[{host}]" if ":" in str(host) else host
                print(
                    f"Tableau de bord : http://{shown}:{port}/  (Ctrl+C pour arrêter)", flush=True
                )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
        finally:
            await runner.cleanup()
    return 0


def _hash_password() -> int:
    from bot.dashboard.passwords import WeakPassword, hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Mot de passe / Password : ")
        again = getpass.getpass("Encore une fois / Again : ")
        if password != again:
            print("Les deux mots de passe diffèrent. / The passwords differ.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        hashed = hash_password(password)
    except WeakPassword as exc:
        print(exc, file=sys.stderr)
        return 1
    print(hashed)
    print(
        "Collez cette ligne dans config.yaml, sous dashboard.admins, comme password_hash "
        "(entre guillemets). / Paste it as password_hash.",
        file=sys.stderr,
    )
    return 0


def _settings(config: Config, args: argparse.Namespace) -> DashboardSettings:
    """The `dashboard:` section: from `config.dashboard` when the configuration loader keeps it
    (as a mapping or as this model), else read from config.yaml here."""
    from bot.dashboard.settings import DashboardSettings, parse_dashboard_settings

    where = str(_config_path(args) or "config.yaml")
    section = getattr(config, "dashboard", None)
    if isinstance(section, DashboardSettings):
        return section
    if section is not None:
        return parse_dashboard_settings(section, where)
    return parse_dashboard_settings(_raw_section(args), where)


def _config_path(args: argparse.Namespace) -> Path | None:
    path = getattr(args, "config", None)
    if path is None and Path("config.yaml").exists():
        return Path("config.yaml")
    return Path(path) if path is not None else None


def _raw_section(args: argparse.Namespace) -> object:
    """The raw `dashboard:` mapping of config.yaml.

    At merge, once `bot.config` registers per-section models, this becomes `config.dashboard`.
    """
    path = _config_path(args)
    if path is None:
        return None
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:  # load_config has already reported these
        raise ConfigError(f"{path} : illisible ({exc}).") from exc
    return raw.get("dashboard") if isinstance(raw, dict) else None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
