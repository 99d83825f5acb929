"""Multi-turn stories (tests/data/stories/) and the knowledge base's own (knowledge/histoires/).

Each story is played in a new conversation by the runner of `aiguillage test` (bot/stories.py);
a failing turn prints what was expected, what came and what the bot said.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_KNOWLEDGE
from bot.kb.knowledge import KnowledgeBase
from bot.messages import Location
from bot.places import Gazetteer
from bot.stories import DialogueFactory, Story, Vocabulary, format_result, load_stories, run_story
from tests.scoring import dialogue_factory

STORIES_DIR = Path(__file__).parent / "data" / "stories"
SHIPPED_DIR = DEFAULT_KNOWLEDGE / "histoires"
DEPARTEMENTS = ("54", "58", "08", "93", "60", "31")


def _load(directory: Path) -> list[Story]:
    from bot.kb.loader import load_knowledge

    gazetteer = Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")
    faq = frozenset(load_knowledge(DEFAULT_KNOWLEDGE, gazetteer).faq)
    stories: list[Story] = []
    for path in sorted(directory.glob("*.yaml")):
        stories += load_stories(path, Vocabulary(faq=faq), display=path.name)
    return stories


STORIES = _load(STORIES_DIR)
SHIPPED = _load(SHIPPED_DIR)


def _actions(story: Story) -> list[str]:
    return [str(t.action.value) for t in story.tours if t.action.kind == "dit"]


def test_there_are_enough_stories_and_each_has_its_own_id() -> None:
    assert len(STORIES) >= 40
    ids = [s.id for s in STORIES + SHIPPED]
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    assert all(len(s.tours) >= 1 and s.titre and s.departement for s in STORIES + SHIPPED)
    assert sum(len(s.tours) > 1 for s in STORIES) >= 40


def test_the_stories_cover_the_multi_turn_behaviours() -> None:
    said = [text for s in STORIES for text in _actions(s)]
    kinds = {t.action.kind for s in STORIES for t in s.tours}
    checks = [c.key for s in STORIES for t in s.tours for c in t.checks]
    chosen = [str(t.action.value) for s in STORIES for t in s.tours if t.action.kind == "choisit"]
    assert kinds == {"dit", "choisit", "position", "lien"}
    for command in ("/recommencer", "/mes_donnees", "/oubli", "/conseiller", "/start"):
        assert command in said, command
    assert any("Voir d'autres" in c for c in chosen)
    assert any(c.isdigit() for c in said), "a number typed as a choice"
    asked = [c for s in STORIES for t in s.tours for c in t.checks if c.key == "demande"]
    assert any("confirmation_commune" in c.expected for c in asked), "homonym resolution"
    assert any("consentement" in c.expected for c in asked), "call-back with consent"
    assert {"besoin", "demande", "propose", "ne_propose_pas", "faq", "eligibilite"} <= set(checks)
    assert {"contient", "ne_contient_pas"} <= set(checks)
    assert {s.departement for s in STORIES} == set(DEPARTEMENTS)


def test_the_knowledge_base_ships_a_handful_of_stories_per_departement() -> None:
    for dept in DEPARTEMENTS:
        mine = [s for s in SHIPPED if s.departement == dept]
        assert 4 <= len(mine) <= 10, (dept, len(mine))
        assert all(s.file == f"{dept}.yaml" for s in mine)
    assert any(isinstance(t.action.value, Location) for s in SHIPPED for t in s.tours)


@pytest.fixture(scope="module")
def dialogues(knowledge: KnowledgeBase, gazetteer: Gazetteer) -> DialogueFactory:
    return dialogue_factory(knowledge, gazetteer)


@pytest.mark.parametrize("story", SHIPPED, ids=[s.id for s in SHIPPED])
def test_shipped_story(story: Story, dialogues: DialogueFactory) -> None:
    result = run_story(story, dialogues)
    assert result.passed, "\n" + format_result(result)


@pytest.mark.expectations
@pytest.mark.parametrize("story", STORIES, ids=[s.id for s in STORIES])
def test_story(story: Story, dialogues: DialogueFactory) -> None:
    result = run_story(story, dialogues)
    assert result.passed, "\n" + format_result(result)
