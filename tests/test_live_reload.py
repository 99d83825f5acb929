"""Live reload, as an admin lives it: a bot serves JSON lines (a real subprocess) on a copy of the
shipped knowledge base, the admin edits a file, and the next answer shows the change. A broken
edit is refused and the old record keeps serving; one broken département never holds back
another; turns go on at their usual speed while the base reloads; the watch can be turned off.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.config import DEFAULT_KNOWLEDGE
from bot.kb.watch import is_knowledge_file

ROOT = Path(__file__).resolve().parents[1]
CHANTIER = "Chantier d'insertion des Jardins de la Meurthe (exemple)"
RENAMED = "Jardins de la Meurthe, nouveau nom (exemple)"
GARAGE_58 = "Garage solidaire nivernais (exemple)"
LOOKING_IN_NANCY = "je suis au RSA à Nancy et je cherche un chantier d'insertion"
LOOKING_IN_NEVERS = "je cherche un garage solidaire à Nevers"
RELOADED = "knowledge changed: reload finished"
TIMEOUT = 30.0
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ", re.MULTILINE)


class JsonLinesBot:
    """`aiguillage chat --jsonl` on its own knowledge folder: ask, read its log."""

    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.knowledge = tmp_path / "knowledge"
        if not self.knowledge.exists():
            shutil.copytree(
                DEFAULT_KNOWLEDGE, self.knowledge, ignore=shutil.ignore_patterns(".cache")
            )
        self.log_path = tmp_path / "bot.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGUILLAGE_", "LC_"))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *extra, "chat", "--jsonl",
             "--knowledge", str(self.knowledge), "--db", str(tmp_path / "data" / "a.db")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log_path.open("wb"),
            env={**env, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    def ask(self, user: str, text: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"user": user, "text": text}).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.log()
        answer: dict[str, Any] = json.loads(line)
        return answer

    def shown(self, user: str, text: str) -> list[str]:
        """The names of the structures the bot proposes."""
        return [s["nom"] for s in self.ask(user, text)["trace"]["structures"]]

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def wait_for_reloads(self, count: int) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.log().count(RELOADED) < count:
            assert time.monotonic() < deadline, f"no reload:\n{self.log()}"
            time.sleep(0.02)

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.knowledge / name
        text = path.read_text("utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), "utf-8")

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            assert self.proc.wait(60) == 0, self.log()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        assert "Traceback" not in self.log()


@contextmanager
def running(tmp_path: Path, *extra: str) -> Iterator[JsonLinesBot]:
    bot = JsonLinesBot(tmp_path, *extra)
    try:
        yield bot
    finally:
        bot.stop()


def test_an_edited_record_is_live_at_the_next_answer_even_mid_conversation(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as bot:
        assert CHANTIER in bot.shown("u1", LOOKING_IN_NANCY)  # the watch is set by now
        asked = bot.ask("u2", "je cherche du boulot")["trace"]
        assert asked["asking"] == "commune"

        bot.edit("departements/54.yaml", f'nom: "{CHANTIER}"', f'nom: "{RENAMED}"')
        bot.wait_for_reloads(1)

        shown = bot.shown("u3", LOOKING_IN_NANCY)
        assert RENAMED in shown and CHANTIER not in shown
        # a conversation begun before the edit goes on, on the new version
        answer = bot.ask("u2", "Nancy, je suis au RSA")
        assert RENAMED in [s["nom"] for s in answer["trace"]["structures"]]
    log = bot.log()
    assert "knowledge base: departements/54.yaml changed, reloading" in log
    assert "for admins" not in log  # nothing wrong: nothing to tell


def test_a_broken_edit_is_refused_the_old_record_serves_and_admins_are_told(
    tmp_path: Path,
) -> None:
    with running(tmp_path) as bot:
        assert CHANTIER in bot.shown("u1", LOOKING_IN_NANCY)

        # the rename and a typo in the same save: the département keeps its previous version
        bot.edit(
            "departements/54.yaml",
            f'nom: "{CHANTIER}"\n    date_maj: 2026-11-26',
            f'nom: "{RENAMED}"\n    date_maj: 2026-11-26\n    telephone: "03 83 00"',
        )
        bot.wait_for_reloads(1)
        assert CHANTIER in bot.shown("u2", LOOKING_IN_NANCY)
        log = bot.log()
        assert "for admins: Base chargée, sauf : nouveaux fichiers refusés pour 54 (erreurs)" in log
        assert re.search(
            r"knowledge/departements/54\.yaml:\d+:\d+: numéro de téléphone invalide « 03 83 00 »",
            log,
        )

        # a broken shared file: the whole new base is refused, everything keeps serving
        bot.edit(
            "commun/regles.yaml",
            "conditions:",
            "conditions: [",
        )
        bot.wait_for_reloads(2)
        assert CHANTIER in bot.shown("u3", LOOKING_IN_NANCY)
        assert "for admins: Base refusée : 1 erreur dans les fichiers communs" in bot.log()

        # both fixed: the rename is live
        bot.edit("commun/regles.yaml", "conditions: [", "conditions:")
        bot.edit("departements/54.yaml", '\n    telephone: "03 83 00"', "")
        bot.wait_for_reloads(3)
        assert RENAMED in bot.shown("u4", LOOKING_IN_NANCY)


def test_an_error_in_one_departement_holds_back_only_that_one(tmp_path: Path) -> None:
    with running(tmp_path) as bot:
        assert CHANTIER in bot.shown("u1", LOOKING_IN_NANCY)
        assert GARAGE_58 in bot.shown("u2", LOOKING_IN_NEVERS)

        bot.edit("departements/54.yaml", f'nom: "{CHANTIER}"', f'nom: "{RENAMED}"\n    bad: 1')
        bot.edit("departements/58.yaml", f"nom: {GARAGE_58}", "nom: Garage du Nivernais (exemple)")
        bot.wait_for_reloads(1)

        assert "Garage du Nivernais (exemple)" in bot.shown("u3", LOOKING_IN_NEVERS)  # 58 moves on
        assert CHANTIER in bot.shown("u4", LOOKING_IN_NANCY)  # 54 keeps its last good version
    assert "nouveaux fichiers refusés pour 54" in bot.log()


def test_turns_keep_their_speed_while_the_base_reloads(tmp_path: Path) -> None:
    """Each edit of a rule makes every département be checked again (the longest reload of
    the shipped base); turns are sent without a pause meanwhile."""
    turns: list[tuple[float, float]] = []  # (sent, answered), wall clock as the log has it
    with running(tmp_path) as bot:
        bot.ask("u0", "bonjour")
        for n in range(3):
            bot.edit("commun/regles.yaml", "IAE : un", "IAE : un ·")
            deadline = time.monotonic() + TIMEOUT
            while bot.log().count(RELOADED) < n + 1:
                assert time.monotonic() < deadline, bot.log()
                sent = time.time()
                assert bot.ask(f"u{n}", "Nancy")["replies"]
                turns.append((sent, time.time()))
    reloads = _reload_spans(bot.log())
    assert len(reloads) == 3
    during = [t for t in turns if any(start <= t[0] and t[1] <= end for start, end in reloads)]
    assert during, (reloads, turns[:3])  # turns were answered while the base was reloading
    slowest = max(end - start for start, end in turns)
    assert slowest < 0.3, f"a turn waited {slowest:.3f} s"


def _reload_spans(log: str) -> list[tuple[float, float]]:
    spans, start = [], None
    for line in log.splitlines():
        found = LOG_TIME.match(line)
        if found is None:
            continue
        moment = dt.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if "knowledge changed: reloading" in line:
            start = moment
        elif RELOADED in line and start is not None:
            spans.append((start, moment + 0.001))  # the log keeps milliseconds
            start = None
    return spans


def test_the_watch_can_be_turned_off_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("knowledge_watch:\n  enabled: false\n", "utf-8")
    with running(tmp_path, "--config", str(config)) as bot:
        assert CHANTIER in bot.shown("u1", LOOKING_IN_NANCY)
        bot.edit("departements/54.yaml", f'nom: "{CHANTIER}"', f'nom: "{RENAMED}"')
        time.sleep(1.5)  # longer than a watched reload takes
        assert CHANTIER in bot.shown("u2", LOOKING_IN_NANCY)
        bot.proc.send_signal(signal.SIGHUP)  # the admin's `aiguillage reload` still works
        deadline = time.monotonic() + TIMEOUT
        while "SIGHUP: reload finished" not in bot.log():
            assert time.monotonic() < deadline, bot.log()
            time.sleep(0.02)
        assert RENAMED in bot.shown("u3", LOOKING_IN_NANCY)
    assert "changed, reloading" not in bot.log()


@pytest.mark.parametrize(
    ("path", "counts"),
    [
        ("departements/54.yaml", True),
        ("departements/54-data-inclusion.yaml", True),
        ("commun/faq.yml", True),
        (".cache/files/abc.jsonl", False),  # the compiled cache the bot writes itself
        ("departements/.54.yaml.swp", False),  # editors' temporary files
        ("departements/54.yaml~", False),
        ("departements/.#54.yaml", False),
        ("communes.csv.gz", False),  # needs a restart
        ("departements/54-data-inclusion.empreintes.json", False),
    ],
)
def test_which_files_make_the_bot_reload(path: str, counts: bool) -> None:
    assert is_knowledge_file(Path("/k"), f"/k/{path}") is counts
    assert not is_knowledge_file(Path("/k"), "/elsewhere/54.yaml")


async def test_a_telegram_bot_reloads_an_edited_file_too(tmp_path: Path) -> None:
    """The watch belongs to every serving mode; here the Telegram adapter, against a local
    Bot API server."""
    from tests.telegram_server import FakeTelegram

    knowledge = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, knowledge, ignore=shutil.ignore_patterns(".cache"))
    log_path = tmp_path / "telegram.log"
    async with FakeTelegram(max_lifetime=120) as server:
        config = tmp_path / "config.yaml"
        config.write_text(
            f"knowledge: knowledge\ndatabase: var/telegram.db\ntelegram:\n"
            f"  base_url: {server.base_url}\n  poll_timeout: 1\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGUILLAGE_", "LC_"))}
        with log_path.open("wb") as log:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--adapter", "telegram", "--config",
                 str(config)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, "PYTHONUNBUFFERED": "1", "AIGUILLAGE_TELEGRAM_TOKEN": server.token},
            )  # fmt: skip
            try:
                await server.send_text(7, LOOKING_IN_NANCY)
                first = " ".join(s.text for s in await server.replies(7, 60))
                assert CHANTIER in first

                path = knowledge / "departements" / "54.yaml"
                text = path.read_text("utf-8")
                path.write_text(text.replace(f'nom: "{CHANTIER}"', f'nom: "{RENAMED}"'), "utf-8")
                deadline = time.monotonic() + TIMEOUT
                while RELOADED not in log_path.read_text("utf-8", errors="replace"):
                    assert time.monotonic() < deadline, log_path.read_text("utf-8")
                    await asyncio.sleep(0.05)

                await server.send_text(8, LOOKING_IN_NANCY)
                assert RENAMED in " ".join(s.text for s in await server.replies(8, 60))
            finally:
                bot.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(bot.wait, 30) == 0
    assert "Traceback" not in log_path.read_text("utf-8", errors="replace")


def test_a_wrong_watch_setting_is_refused_with_its_key() -> None:
    from bot.config import ConfigError, validate_config

    assert validate_config({}, "config.yaml").knowledge_watch.enabled is True
    with pytest.raises(ConfigError) as refused:
        validate_config({"knowledge_watch": {"enabled": "oui", "quiet_ms": 5}}, "config.yaml")
    message = str(refused.value)
    assert "knowledge_watch.enabled : true ou false est attendu" in message
    assert "knowledge_watch.quiet_ms : la valeur doit être au moins 50" in message
    with pytest.raises(ConfigError, match=re.escape("Vouliez-vous dire « enabled » ?")):
        validate_config({"knowledge_watch": {"enable": False}}, "config.yaml")
