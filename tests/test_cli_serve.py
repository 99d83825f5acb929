"""The serving commands as admins and scripts run them (real subprocesses): JSON lines under any
locale, a closed output, SIGHUP in every mode, and `aiguillage reload` reaching every bot that
runs on the same data folder (each with its own pid file)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.pidfiles import pid_file, running_bots
from tests.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGUILLAGE_", "LC_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def _jsonl(db: Path, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PYTHON, "-m", "bot", "chat", "--jsonl", "--db", str(db)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(**env),
    )


def _ask(proc: subprocess.Popen[bytes], line: bytes) -> dict[str, object]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + b"\n")
    proc.stdin.flush()
    answer = proc.stdout.readline()
    assert answer, proc.stderr.read().decode() if proc.stderr else "no answer"
    decoded = json.loads(answer)
    assert isinstance(decoded, dict)
    return decoded


def _wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.mark.parametrize(
    "locale", [{"LC_ALL": "C.UTF-8"}, {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0"}]
)
def test_invalid_bytes_under_a_strict_locale_never_end_the_session(
    tmp_path: Path, locale: dict[str, str]
) -> None:
    lines = [
        b'{"user": "u1", "text": "caf\xe9 \xff"}',
        b"\xff\xfe\xfd",
        b'{"user": "u1", "text": "Nancy"}',
    ]
    result = subprocess.run(
        [PYTHON, "-m", "bot", "chat", "--jsonl", "--db", str(tmp_path / "a.db")],
        cwd=ROOT,
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        env=_env(**locale),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    answers = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [("error" in a) for a in answers] == [False, True, False]
    assert "Nancy" in json.dumps(answers[2], ensure_ascii=False)
    assert b"Traceback" not in result.stderr


def test_a_closed_output_ends_the_session_quietly(tmp_path: Path) -> None:
    line = b'{"user": "u1", "text": "bonjour"}\n'
    reader = subprocess.Popen(
        ["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    proc = subprocess.Popen(
        [PYTHON, "-m", "bot", "chat", "--jsonl", "--db", str(tmp_path / "a.db")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert reader.stdin is not None and proc.stdin is not None
    reader.stdin.close()
    try:
        for _ in range(300):
            proc.stdin.write(line)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # the bot stopped reading: that is the point
    assert proc.wait(120) == 0
    assert proc.stderr is not None
    assert proc.stderr.read() == b""
    reader.wait(10)


def test_sighup_reloads_a_json_lines_session_which_goes_on(tmp_path: Path) -> None:
    proc = _jsonl(tmp_path / "a.db")
    try:
        assert "replies" in _ask(proc, b'{"user": "u1", "text": "bonjour"}')
        pid_path = tmp_path / "aiguillage-console.pid"
        assert pid_path.read_text().strip() == str(proc.pid)
        assert oct(pid_path.stat().st_mode & 0o777) == "0o600"
        assert running_bots(tmp_path) == {pid_path: proc.pid}
        proc.send_signal(signal.SIGHUP)
        assert "replies" in _ask(proc, b'{"user": "u1", "text": "Nancy"}')
        proc.send_signal(signal.SIGHUP)
        assert "replies" in _ask(proc, b'{"user": "u1", "text": "je suis au RSA"}')
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.stderr is not None
    log = proc.stderr.read().decode()
    assert log.count("reload finished") == 2 and "Traceback" not in log
    assert not (tmp_path / "aiguillage-console.pid").exists()


def test_a_pid_file_nobody_holds_is_never_signalled(tmp_path: Path) -> None:
    (tmp_path / "aiguillage-telegram.pid").write_text("1\n")  # left by a crash; pid 1 is init
    assert running_bots(tmp_path) == {}
    with pid_file(tmp_path, "matrix") as first, pid_file(tmp_path, "matrix") as second:
        assert first.name == "aiguillage-matrix.pid"
        assert second.name == f"aiguillage-matrix-{os.getpid()}.pid"
        assert running_bots(tmp_path) == {first: os.getpid(), second: os.getpid()}
    assert not first.exists() and not second.exists()


async def test_reload_reaches_telegram_and_json_lines_side_by_side(tmp_path: Path) -> None:
    """Two bots on one data folder (their own databases): each has its own pid file, and one
    `aiguillage reload` makes both reload."""
    var = tmp_path / "var"
    async with FakeTelegram(max_lifetime=120) as server:
        config = tmp_path / "config.yaml"
        config.write_text(
            f"database: var/telegram.db\ntelegram:\n  base_url: {server.base_url}\n"
            "  poll_timeout: 1\n",
            encoding="utf-8",
        )
        log = (tmp_path / "telegram.log").open("wb")
        telegram = subprocess.Popen(
            [PYTHON, "-m", "bot", "run", "--adapter", "telegram", "--config", str(config)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(AIGUILLAGE_TELEGRAM_TOKEN=server.token),
        )
        jsonl = _jsonl(var / "console.db")
        try:
            await server.wait_for(lambda: "en" in server.commands, 60)
            assert "replies" in await asyncio.to_thread(_ask, jsonl, b'{"user": "u", "text": "a"}')
            names = {p.name for p in running_bots(var)}
            assert names == {"aiguillage-telegram.pid", "aiguillage-console.pid"}
            result = await asyncio.to_thread(
                subprocess.run,
                [PYTHON, "-m", "bot", "--config", str(config), "reload"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env=_env(),
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout.count("recharge la base") == 2
            logged = tmp_path / "telegram.log"
            await asyncio.to_thread(
                _wait_for, lambda: "reload finished" in logged.read_text(errors="replace")
            )
            update = await server.send_text(5, "bonjour")
            await server.wait_confirmed(update, 60)  # still serving after the reload
            assert "replies" in await asyncio.to_thread(_ask, jsonl, b'{"user": "u", "text": "b"}')
        finally:
            telegram.send_signal(signal.SIGTERM)
            assert jsonl.stdin is not None
            jsonl.stdin.close()
            assert await asyncio.to_thread(telegram.wait, 30) == 0
            assert await asyncio.to_thread(jsonl.wait, 30) == 0
            log.close()
    assert jsonl.stderr is not None
    assert "reload finished" in jsonl.stderr.read().decode()
    assert running_bots(var) == {}
