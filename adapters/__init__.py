"""Messaging adapters, one module per platform. To add a platform, write `adapters/<name>.py`
with a `create(context: AdapterContext) -> Adapter` function and list it here."""

from __future__ import annotations

import importlib

from adapters.base import Adapter, AdapterContext

PLATFORMS = ("telegram", "matrix")


def create(name: str, context: AdapterContext) -> Adapter:
    """Build the adapter of a platform (imported lazily: each pulls its own library)."""
    if name not in PLATFORMS:
        raise ValueError(
            f"adaptateur inconnu « {name} » (connus : console, {', '.join(PLATFORMS)})"
        )
    module = importlib.import_module(f"adapters.{name}")
    adapter: Adapter = module.create(context)
    return adapter
