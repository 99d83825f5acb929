"""Every sentence the code asks for exists, in French and in English."""

from __future__ import annotations

import re
from pathlib import Path

from bot.texts import TEXTS

BOT = Path(__file__).resolve().parents[1] / "bot"


def test_every_text_the_code_uses_exists() -> None:
    used: set[str] = set()
    for path in BOT.rglob("*.py"):
        used |= set(re.findall(r"\bt\(\s*[\w.]+,\s*\"([a-z_]+)\"", path.read_text("utf-8")))
        used |= set(re.findall(r"\bt\(\s*[\w.]+,\s*'([a-z_]+)'", path.read_text("utf-8")))
    assert used, "the scan found no call"
    assert sorted(used - set(TEXTS)) == []


def test_every_text_has_french_and_english() -> None:
    assert [k for k, v in TEXTS.items() if set(v) != {"fr", "en"}] == []
