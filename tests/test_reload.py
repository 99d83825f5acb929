"""Reloading the knowledge base: a good one replaces the old, a broken one never does."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.app import KnowledgeHolder
from bot.config import DEFAULT_KNOWLEDGE, Config
from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer


async def test_reload_swaps_a_good_base_and_keeps_the_last_good_one(
    tmp_path: Path, gazetteer: Gazetteer, knowledge: KnowledgeBase
) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, copy)
    holder = KnowledgeHolder(Config(knowledge=copy), gazetteer, knowledge)
    first = holder.dialogue()

    faq = copy / "commun" / "faq.yaml"
    faq.write_text(
        faq.read_text(encoding="utf-8").replace(
            "Une CAE vous permet", "Une coopérative d'activités vous permet", 1
        ),
        encoding="utf-8",
    )
    assert await holder.reload() == []
    assert holder.dialogue() is not first
    assert (
        "coopérative d'activités vous permet"
        in holder.current.faq["faq_cae_fonctionnement"].reponse
    )

    good = holder.dialogue()
    faq.write_text("faq:\n  - id: [broken\n", encoding="utf-8")
    problems = await holder.reload()
    assert problems and problems[0].file.endswith("faq.yaml")
    assert holder.dialogue() is good  # the running bot keeps answering with the last good base
