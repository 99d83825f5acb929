"""Every sentence the code asks for exists, in French and in English; so does what the shipped
rules say."""

from __future__ import annotations

import re
from pathlib import Path

from bot.kb.knowledge import KnowledgeBase
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


def test_every_shipped_rule_explains_itself_in_english_too(knowledge: KnowledgeBase) -> None:
    """What a pre-screen says (why, who decides) is read in English by people who write in
    English: every shipped rule has it."""
    fields = ("decide_par", "explication_si_vrai", "explication_si_faux", "explication_si_inconnu")
    missing = [
        f"{rule.id}.{name}_en"
        for rule in knowledge.rules.values()
        for name in fields
        if getattr(rule, name) and not getattr(rule, f"{name}_en")
    ]
    assert knowledge.rules and missing == []
