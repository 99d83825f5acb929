"""The development set: varied first messages, each understood in one turn as expected."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.kb.knowledge import KnowledgeBase
from bot.messages import Incoming
from bot.places import Gazetteer
from tests.conftest import TODAY

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "devset.yaml").read_text(encoding="utf-8")
)


def test_the_development_set_is_large_and_varied() -> None:
    assert len(CASES) >= 60
    homes = {case["home"] for case in CASES}
    assert homes >= {"54", "58", "08", "93", "60", "31"}
    needs = {case.get("need") for case in CASES}
    assert needs >= {
        "emploi_insertion",
        "emploi_handicap",
        "emploi_territoire",
        "creation_activite",
        "jeunes_cooperative",
        "mobilite_reparation",
        "mobilite_vehicule",
        "mobilite_permis",
        "mobilite_accompagnement",
        "mobilite_covoiturage",
    }


@pytest.fixture(scope="module")
def dialogues(knowledge: KnowledgeBase, gazetteer: Gazetteer) -> Any:
    @cache
    def for_home(home: str) -> OrientationDialogue:
        return OrientationDialogue(knowledge, gazetteer, DialogueSettings(), home, today=TODAY)

    return for_home


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:50] for c in CASES])
def test_first_message_is_understood(case: dict[str, Any], dialogues: Any) -> None:
    dialogue = dialogues(case["home"])
    result = dialogue.step(None, Incoming("test", "devset", "1", text=case["text"]))
    trace = result.turn.trace
    state = result.state or {}
    if "faq" in case:
        assert trace.faq == [case["faq"]], result.turn.replies[0].text
        return
    assert trace.need == case["need"], result.turn.replies[0].text
    if "commune" in case:
        assert state["facts"]["commune"] == case["commune"]
    if "asking" in case:
        assert trace.asking == case["asking"], result.turn.replies[-1].text
    categories = {s["categorie"] for s in trace.structures}
    if case.get("results"):
        assert trace.structures, result.turn.replies[-1].text
    if "categories" in case and trace.structures:
        assert categories <= set(case["categories"])
    if "first_category" in case:
        assert trace.structures[0]["categorie"] == case["first_category"]
