"""The `dashboard:` section of config.yaml and the `aiguillage dashboard` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.dashboard.passwords import verify_password
from bot.dashboard.settings import admin_hashes, parse_dashboard_settings

ROOT = Path(__file__).resolve().parents[1]
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"


def aiguillage(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_defaults_keep_the_dashboard_on_this_machine() -> None:
    settings = parse_dashboard_settings(None)
    assert (settings.host, settings.port, settings.session_minutes) == ("127.0.0.1", 8080, 480)
    assert settings.secure_cookies is False


def test_each_admin_has_a_hash_in_the_file_or_in_a_variable() -> None:
    settings = parse_dashboard_settings(
        {
            "port": 8081,
            "admins": [
                {"login": "marie", "password_hash": HASH},
                {"login": "karim", "password_hash_env": "HASH_KARIM"},
            ],
        }
    )
    assert admin_hashes(settings, {"HASH_KARIM": HASH}) == {"marie": HASH, "karim": HASH}
    with pytest.raises(ConfigError, match=r"HASH_KARIM .* est vide ou absente"):
        admin_hashes(settings, {})
    with pytest.raises(ConfigError, match="ne contient pas un hachage Argon2id"):
        admin_hashes(settings, {"HASH_KARIM": "secret"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"prot": 8080}, "prot : réglage inconnu"),
        ({"port": 70000}, "port : doit valoir au plus 65535"),
        ({"port": "huit"}, "port : un nombre entier est attendu"),
        ({"port": "8080"}, "port : un nombre entier est attendu"),  # never coerced silently
        ({"admins": [{"login": "marie"}]}, "soit password_hash, soit password_hash_env"),
        ({"admins": [{"login": "marie", "password_hash": "motdepasse"}]}, "jamais le mot de passe"),
        ({"admins": [{"login": "ma rie", "password_hash": HASH}]}, "caractères non permis"),
        ("oui", "doit être un dictionnaire"),
    ],
)
def test_a_wrong_setting_is_named_in_french(raw: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_dashboard_settings(raw)


def test_no_admin_means_no_dashboard() -> None:
    with pytest.raises(ConfigError, match="aucun administrateur"):
        admin_hashes(parse_dashboard_settings({}), {})


def test_config_yaml_accepts_a_dashboard_section(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("dashboard:\n  port: 8090\n", encoding="utf-8")
    assert load_config(path).departement == "54"


def test_hash_password_prints_a_hash_that_verifies() -> None:
    result = aiguillage("dashboard", "--hash-password", stdin="un mot de passe bien long\n")
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip()
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "un mot de passe bien long")
    assert not verify_password(hashed, "un autre mot de passe")
    assert "un mot de passe bien long" not in result.stdout + result.stderr
    short = aiguillage("dashboard", "--hash-password", stdin="court\n")
    assert short.returncode == 1 and "Mot de passe trop court" in short.stderr


def test_the_command_explains_what_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: absent.db\n", encoding="utf-8")
    result = aiguillage("dashboard", "--config", str(config))
    assert result.returncode == 2 and "aucun administrateur" in result.stderr
    config.write_text(
        "database: absent.db\ndashboard:\n  admins:\n"
        f'    - login: marie\n      password_hash: "{HASH}"\n',
        encoding="utf-8",
    )
    result = aiguillage("dashboard", "--config", str(config))
    assert result.returncode == 2
    assert "absent.db n'existe pas" in result.stderr
    assert "Traceback" not in result.stderr
