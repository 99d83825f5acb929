"""Messaging adapters, one module per platform. To add a platform, write `adapters/<name>.py`
with a `create(context: AdapterContext) -> Adapter` function and a
`check_settings(raw, data_dir) -> None` that raises `ConfigError`, and list it here."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from adapters.base import Adapter, AdapterContext, ConfigError
from bot.text import did_you_mean

PLATFORMS = ("telegram", "matrix")


def unknown_adapter(name: str) -> str:
    hint = did_you_mean(name, ("console", *PLATFORMS))
    extra = f" Vouliez-vous dire « {hint} » ?" if hint else ""
    return (
        f"adaptateur inconnu « {name} » (connus : console, {', '.join(PLATFORMS)}).{extra} "
        "/ Unknown adapter."
    )


def _module(name: str) -> ModuleType:
    if name not in PLATFORMS:
        raise ConfigError(unknown_adapter(name))
    return importlib.import_module(f"adapters.{name}")


def check_settings(name: str, raw: Mapping[str, Any], data_dir: str) -> None:
    """Validate a platform's settings and secrets before anything else starts (ConfigError)."""
    _module(name).check_settings(raw, data_dir)


def create(name: str, context: AdapterContext) -> Adapter:
    """Build the adapter of a platform (imported lazily: each pulls its own library)."""
    adapter: Adapter = _module(name).create(context)
    return adapter
