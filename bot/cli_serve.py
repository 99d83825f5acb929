"""The serving sub-commands: `chat` (terminal or JSON lines), `run` (Telegram, Matrix), `reload`.

Every serving mode writes its pid file (`bot/pidfiles.py`) and reloads its knowledge base on
SIGHUP, without dropping what it is doing; `aiguillage reload` checks the knowledge base, then
signals every bot running on the same data folder. Every serving mode also watches the
knowledge folder and reloads when a YAML file changes (`bot/kb/watch.py`; `knowledge_watch:` in
config.yaml turns it off). All reloads go through `reload_knowledge`, whose report reaches the
admins (`bot/staff/admins.py`). Files the bot writes while serving are private (umask 077). A closed
standard output ends a JSON-lines session quietly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from bot.config import Config
from bot.kb.watch import watching
from bot.pidfiles import pid_file, running_bots

if TYPE_CHECKING:
    from bot.app import App
    from bot.kb.knowledge import LoadReport

log = logging.getLogger("aiguillage")


def cmd_chat(config: Config, args: argparse.Namespace) -> int:
    jsonl = bool(getattr(args, "jsonl", False))
    try:
        return asyncio.run(_chat(config, jsonl, getattr(args, "user", "moi")))
    except BrokenPipeError:
        _silence_stdout()
        return 0


async def _chat(config: Config, jsonl: bool, user: str) -> int:
    from adapters.console import chat, serve_jsonl, stdin_lines
    from bot.app import open_app

    if jsonl:  # the contract is UTF-8 whatever the locale says
        sys.stdout.reconfigure(encoding="utf-8", errors="strict", newline="\n")  # type: ignore[union-attr]
    else:
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    os.umask(0o077)
    async with open_app(config) as app, serving(app, config, "console", stop=None):
        if jsonl:
            await serve_jsonl(app.dispatcher, stdin_lines(), sys.stdout)
        else:
            await chat(app.dispatcher, user, outbox=app.staff.outbox if app.staff else None)
    return 0


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    import adapters

    name = args.adapter or config.adapter
    if name == "console":
        return cmd_chat(config, args)
    # Settings and secrets first: a wrong setting is reported before anything is loaded.
    adapters.check_settings(name, config.adapters.get(name, {}), str(config.data_dir))
    return asyncio.run(_run(config, name))


async def _run(config: Config, name: str) -> int:
    import adapters
    from adapters.base import AdapterContext
    from bot.app import open_app

    os.umask(0o077)
    async with open_app(config) as app:
        context = AdapterContext(
            dispatcher=app.dispatcher,
            store=app.store,
            settings=config.adapters.get(name, {}),
            data_dir=str(config.data_dir),
            staff=app.staff,
        )
        adapter = adapters.create(name, context)
        stop = asyncio.Event()
        async with serving(app, config, name, stop):
            log.info("serving %s (pid %d)", name, os.getpid())
            await adapter.run(stop)
    return 0


@contextlib.asynccontextmanager
async def serving(
    app: App, config: Config, mode: str, stop: asyncio.Event | None
) -> AsyncIterator[None]:
    """The pid file of `mode`, the watch of the knowledge folder and the signal handlers:
    SIGHUP reloads; with `stop`, SIGINT and SIGTERM set it (the adapter finishes the event in
    hand and returns)."""
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[object]] = set()

    async def reload_on_signal() -> None:
        await reload_knowledge(app)

    def on_hangup() -> None:
        task = asyncio.ensure_future(reload_on_signal())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    handled = [signal.SIGHUP]
    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    if stop is not None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    watch = config.knowledge_watch
    staff_stop = asyncio.Event()
    staff_loops = (
        asyncio.ensure_future(app.staff.run(staff_stop)) if app.staff is not None else None
    )
    try:
        with pid_file(config.data_dir, mode):
            async with watching(
                config.knowledge,
                lambda: reload_knowledge(app, "knowledge changed"),
                enabled=watch.enabled,
                quiet_ms=watch.quiet_ms,
            ):
                yield
    finally:
        staff_stop.set()
        if staff_loops is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await staff_loops
        for sig in handled:
            loop.remove_signal_handler(sig)
        for task in list(reloads):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task


async def reload_knowledge(
    app: App, reason: str = "SIGHUP", *, tell_admins: bool = True
) -> LoadReport | None:
    """Reload the knowledge base in place; a broken one is reported and never replaces the
    good one. The one reload of SIGHUP, `aiguillage reload`, `/reload` and the file watcher: a
    report with errors reaches the admin accounts (`admins:`), through the outbox; the codes
    made with `aiguillage link` are read again. Returns the report (None if the reload failed)."""
    from bot.staff.admins import tell_admins_about_reload

    log.info("%s: reloading the knowledge base", reason)
    try:
        report = await app.knowledge.reload()
    except Exception as exc:  # a reload must never take the bot down
        log.error("reload failed: %s", type(exc).__name__)
        return None
    if not report.ok:
        log.warning("for admins: %s", report.for_admins())
    if app.staff is not None:
        with contextlib.suppress(Exception):
            app.staff.directory.refresh(await app.store.referrals())
        if tell_admins:
            await tell_admins_about_reload(app.staff.admins, report)
    log.info("%s: reload finished", reason)
    return report


def cmd_reload(
    config: Config, args: argparse.Namespace, check: Callable[[Config], int] | None = None
) -> int:
    """Check the knowledge base, then signal every bot running on this data folder."""
    if check is not None and check(config) != 0:
        print("Rechargement annulé : corrigez d'abord les erreurs. / Reload cancelled.")
        return 1
    bots = running_bots(config.data_dir)
    if not bots:
        print(
            f"Aucun bot en marche dans {config.data_dir}. / No running bot in {config.data_dir}.",
            file=sys.stderr,
        )
        return 1
    reached = 0
    for path, pid in bots.items():
        try:
            os.kill(pid, signal.SIGHUP)
            reached += 1
        except ProcessLookupError:
            continue
        print(f"{path.name} : le bot {pid} recharge la base. / Bot {pid} is reloading.")
    return 0 if reached else 1


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the final flush says nothing."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
