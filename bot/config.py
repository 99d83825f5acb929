"""Settings: `config.yaml` (see config.example.yaml), overridden by command-line options.

Secrets (tokens, passwords) never live in the file: the file names the environment variable
that holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from bot.text import did_you_mean

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_KNOWLEDGE = PROJECT_ROOT / "knowledge"


class ConfigError(ValueError):
    """The configuration is wrong; the message says where and how to fix it (French first)."""


@dataclass(frozen=True, slots=True)
class DialogueSettings:
    faq_seuil_haut: float = 86.0  # answer directly at or above this score
    faq_seuil_bas: float = 70.0  # below: not understood; between: "did you mean A or B?"
    ecart_ambiguite: float = 4.0  # top two closer than this: ask which one
    max_resultats: int = 3


@dataclass(frozen=True, slots=True)
class Config:
    departement: str = "54"
    knowledge: Path = DEFAULT_KNOWLEDGE
    database: Path = Path("var/aiguillage.db")
    log_level: str = "INFO"
    adapter: str = "console"
    dialogue: DialogueSettings = field(default_factory=DialogueSettings)
    adapters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.database.parent

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_TOP_LEVEL = {
    "departement",
    "knowledge",
    "database",
    "log_level",
    "adapter",
    "dialogue",
    "telegram",
    "matrix",
    "console",
    "dashboard",  # read by bot.cli_dashboard (bot/dashboard/settings.py)
}


def load_config(path: Path | None) -> Config:
    """Read a YAML config file; `None` gives the defaults (console, shipped knowledge)."""
    if path is None:
        return Config()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} : fichier de configuration introuvable.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} : YAML mal formé : {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} : la configuration doit être un dictionnaire (clé: valeur).")
    return _parse(raw, path)


def _parse(raw: dict[str, Any], path: Path) -> Config:
    for key in raw:
        if key not in _TOP_LEVEL:
            hint = did_you_mean(str(key), _TOP_LEVEL)
            extra = f" Vouliez-vous dire « {hint} » ?" if hint else ""
            raise ConfigError(f"{path} : réglage inconnu « {key} ».{extra}")
    base = path.parent
    dialogue_raw = raw.get("dialogue") or {}
    if not isinstance(dialogue_raw, dict):
        raise ConfigError(f"{path} : « dialogue » doit être un dictionnaire.")
    try:
        dialogue = DialogueSettings(**dialogue_raw)
    except TypeError as exc:
        raise ConfigError(f"{path} : réglage de « dialogue » inconnu ({exc}).") from exc
    adapters = {name: _mapping(raw, name, path) for name in ("telegram", "matrix", "console")}
    departement = str(raw.get("departement", "54")).zfill(2)
    return Config(
        departement=departement,
        knowledge=_path(raw.get("knowledge"), base, DEFAULT_KNOWLEDGE),
        database=_path(raw.get("database"), base, Path("var/aiguillage.db")),
        log_level=str(raw.get("log_level", "INFO")).upper(),
        adapter=str(raw.get("adapter", "console")),
        dialogue=dialogue,
        adapters=adapters,
    )


def _mapping(raw: dict[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path} : « {name} » doit être un dictionnaire de réglages.")
    return value


def _path(value: Any, base: Path, default: Path) -> Path:
    if value is None:
        return default
    candidate = Path(str(value)).expanduser()
    return candidate if candidate.is_absolute() else (base / candidate)
