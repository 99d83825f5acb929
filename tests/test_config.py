"""The configuration is validated as a whole: every wrong setting gets one clear French message
naming its key, and the bot refuses to start (exit 2, no traceback). config.example.yaml
documents every setting, and every setting in it is accepted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapters import check_settings
from adapters.matrix import MatrixSettings
from adapters.telegram import TelegramSettings
from bot.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.yaml"
MATRIX = "matrix:\n  homeserver: https://m.example.org\n  user_id: '@bot:example.org'\n"


def test_the_example_configuration_is_valid_for_the_core_and_every_adapter() -> None:
    config = load_config(EXAMPLE)
    assert config.departement == "54"
    assert config.knowledge.name == "knowledge"
    telegram = TelegramSettings.parse(
        config.adapters["telegram"], env={"AIGUILLAGE_TELEGRAM_TOKEN": "123:abc"}
    )
    assert telegram.poll_timeout == 25
    matrix = MatrixSettings.parse(
        config.adapters["matrix"], {"AIGUILLAGE_MATRIX_PASSWORD": "secret"}
    )
    assert matrix.user_id == "@aiguillage:example.org"


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# Each wrong configuration, and what its message must say (the key, then the explanation).
WRONG = [
    ("departemnt: '54'", ["departemnt", "Vouliez-vous dire « departement »"]),
    ("dialogue:\n  max_resultat: 3", ["dialogue.max_resultat", "« max_resultats »"]),
    ("dialogue:\n  max_resultats: '3'", ["dialogue.max_resultats", "nombre entier"]),
    ("dialogue:\n  max_resultats: 0", ["dialogue.max_resultats", "au moins 1"]),
    ("dialogue:\n  max_resultats: 2.5", ["dialogue.max_resultats", "nombre entier"]),
    ("dialogue:\n  max_resultats: true", ["dialogue.max_resultats", "nombre entier"]),
    ("dialogue:\n  faq_seuil_haut: 150", ["dialogue.faq_seuil_haut", "au plus 100"]),
    ("dialogue:\n  faq_seuil_haut: '86'", ["dialogue.faq_seuil_haut", "un nombre est attendu"]),
    ("dialogue:\n  faq_seuil_bas: 90", ["dialogue", "faq_seuil_bas doit être inférieur"]),
    ("dialogue: [1, 2]", ["dialogue", "dictionnaire"]),
    ("departement: 99", ["departement", "n'est pas un code de département"]),
    ("departement: true", ["departement", "un texte est attendu", "booléen YAML"]),
    ("log_level: bavard", ["log_level", "valeurs possibles", "DEBUG"]),
    ("adapter: telgram", ["adapter", "Vouliez-vous dire « telegram »"]),
    ("knowledge: 5", ["knowledge", "chemin"]),
    ("telegram: yes", ["telegram", "dictionnaire"]),
    ("telegram:\n  base_url: api.telegram.org/bot", ["telegram.base_url", "adresse web"]),
    ("telegram:\n  base_url: ftp://api.telegram.org/bot", ["telegram.base_url", "adresse web"]),
    ("telegram:\n  base_url: 'https://'", ["telegram.base_url", "adresse web"]),
    ("telegram:\n  base_url: http://h:99999/bot", ["telegram.base_url", "port"]),
    ("telegram:\n  mode: webhok", ["telegram.mode", "Vouliez-vous dire « webhook »"]),
    ("telegram:\n  mode: no", ["telegram.mode", "polling, webhook"]),
    ("telegram:\n  mode: webhook", ["telegram", "webhook.url"]),
    (
        "telegram:\n  mode: webhook\n  webhook:\n    url: http://bot.example.org/t",
        ["telegram.webhook.url", "https://"],
    ),
    ("telegram:\n  webhook:\n    port: 70000", ["telegram.webhook.port", "au plus 65535"]),
    ("telegram:\n  webhook:\n    port: '8443'", ["telegram.webhook.port", "nombre entier"]),
    ("telegram:\n  poll_timeout: 60", ["telegram.poll_timeout", "au plus 50"]),
    ("telegram:\n  concurrency: 0", ["telegram.concurrency", "au moins 1"]),
    ("telegram:\n  token_env: '123456:ABC-secret'", ["telegram.token_env", "jamais le secret"]),
    ("telegram:\n  bot_username: mon bot", ["telegram.bot_username", "forme attendue"]),
    ("telegram:\n  tokn_env: X", ["telegram.tokn_env", "Vouliez-vous dire « token_env »"]),
    (MATRIX.replace("https://m.example.org", "m.example.org"), ["matrix.homeserver", "adresse"]),
    (MATRIX.replace("'@bot:example.org'", "bot"), ["matrix.user_id", "@aiguillage:example.org"]),
    ("matrix:\n  homeserver: https://m.example.org", ["matrix.user_id", "obligatoire"]),
    (MATRIX + "  encryption: false", ["matrix.encryption", "booléen YAML", "auto, off"]),
    (MATRIX + "  encryption: on", ["matrix.encryption", "auto, off"]),
    (MATRIX + "  invite_policy: servers", ["matrix", "allowed_servers"]),
    (MATRIX + "  allowed_servers: example.org", ["matrix.allowed_servers", "liste"]),
    (MATRIX + "  shared_rooms: refus", ["matrix.shared_rooms", "Vouliez-vous dire « refuse »"]),
    (MATRIX + "  password_env: ''", ["matrix.password_env", "variable d'environnement"]),
    (MATRIX + "  invite_polcy: anyone", ["matrix.invite_polcy", "« invite_policy »"]),
    ("console:\n  couleur: rouge", ["console.couleur", "réglage inconnu"]),
    ("departement: '54'\ndepartement: '57'", ["en double", "ligne 2"]),
    ("telegram:\n  mode: [polling", ["YAML mal formé", "ligne"]),
    ("- departement: '54'", ["doit être un dictionnaire"]),
    (b"departement: '54' # \xe9\n", ["UTF-8"]),
]


@pytest.mark.parametrize(("text", "expected"), WRONG, ids=[f"{i:02d}" for i in range(len(WRONG))])
def test_each_wrong_configuration_gets_a_clear_message(
    tmp_path: Path, text: str | bytes, expected: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    message = str(caught.value)
    for part in expected:
        assert part in message, (part, message)
    assert "Traceback" not in message and "pydantic" not in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = "departemnt: 54\ndialogue:\n  max_resultats: '3'\ntelegram:\n  poll_timeout: -1\n"
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text))
    assert len(caught.value.problems) == 3
    assert "3 problèmes" in str(caught.value)


def test_yaml_words_stay_words_and_numbers_are_read_explicitly(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MATRIX + "  encryption: off\ndepartement: 054\n"))
    assert config.adapters["matrix"]["encryption"] == "off"  # YAML 1.1 would say False
    assert MatrixSettings.parse(config.adapters["matrix"], {"X": "y"}).encryption == "off"
    assert config.departement == "54"  # not octal 44
    assert load_config(_write(tmp_path, "departement: 2a")).departement == "2A"
    assert load_config(_write(tmp_path, "departement: 7")).departement == "07"


def test_paths_are_relative_to_the_file_and_attributes_are_kept(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "database: var/bot.db\nknowledge: kb\n"))
    assert config.database == tmp_path / "var" / "bot.db"
    assert config.knowledge == tmp_path / "kb"
    assert config.data_dir == tmp_path / "var"
    for name in ("departement", "knowledge", "database", "log_level", "adapter", "dialogue"):
        assert getattr(config, name) == getattr(Config(), name) or name in ("knowledge", "database")
    assert set(config.adapters) == {"telegram", "matrix", "console"}
    assert config.dialogue.max_resultats == 3
    assert config.with_overrides(departement="57").departement == "57"
    with pytest.raises(ConfigError, match="département"):
        config.with_overrides(departement="999")


# --- secrets: the named environment variable must hold one ---------------------------------------

SECRETS = [
    ("telegram", {}, {}, "AIGUILLAGE_TELEGRAM_TOKEN"),
    ("telegram", {"token_env": "MON_JETON"}, {"MON_JETON": "  "}, "MON_JETON"),
    ("telegram", {}, {"AIGUILLAGE_TELEGRAM_TOKEN": "pas un jeton"}, "forme attendue"),
    (
        "telegram",
        {"mode": "webhook", "webhook": {"url": "https://b.example.org/t", "secret_token_env": "S"}},
        {"AIGUILLAGE_TELEGRAM_TOKEN": "1:a"},
        "webhook) est vide",
    ),
    (
        "telegram",
        {"mode": "webhook", "webhook": {"url": "https://b.example.org/t", "secret_token_env": "S"}},
        {"AIGUILLAGE_TELEGRAM_TOKEN": "1:a", "S": "a b"},
        "256 caractères",
    ),
    (
        "matrix",
        {"homeserver": "https://m.example.org", "user_id": "@bot:example.org"},
        {},
        "AIGUILLAGE_MATRIX_PASSWORD",
    ),
]


@pytest.mark.parametrize(("adapter", "raw", "env", "expected"), SECRETS)
def test_a_missing_secret_is_named(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    adapter: str,
    raw: dict[str, object],
    env: dict[str, str],
    expected: str,
) -> None:
    for name in (
        "AIGUILLAGE_TELEGRAM_TOKEN",
        "AIGUILLAGE_MATRIX_PASSWORD",
        "AIGUILLAGE_MATRIX_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        check_settings(adapter, raw, str(tmp_path))


# --- the CLI: exit 2, a French message, never a traceback -----------------------------------------


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AIGUILLAGE_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**clean, **(env or {})},
    )


@pytest.mark.parametrize(
    ("config", "args", "expected"),
    [
        ("dialogue:\n  max_resultats: '3'\n", ["chat", "--jsonl"], "dialogue.max_resultats"),
        ("telegram:\n  poll_timeout: 5\n", ["run", "--adapter", "telegram"], "jeton"),
        (MATRIX, ["run", "--adapter", "matrix"], "AIGUILLAGE_MATRIX_PASSWORD"),
        ("", ["run", "--adapter", "telgram"], "Vouliez-vous dire « telegram »"),
        ("", ["--departement", "123", "chat", "--jsonl"], "département"),
    ],
)
def test_the_cli_refuses_to_start_with_exit_2_and_no_traceback(
    tmp_path: Path, config: str, args: list[str], expected: str
) -> None:
    path = _write(tmp_path, config)
    result = _cli("--config", str(path), "--db", str(tmp_path / "a.db"), *args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "a.db").exists()  # refused before anything was opened
