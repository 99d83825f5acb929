"""The stories give the same texts and traces in-process and through `aiguillage chat --jsonl`.

One subprocess plays every story (tests/dialogue_contract.py); each story is then compared turn
by turn. A difference means the dispatcher, the store or the JSON-lines adapter changes what
the dialogue said, or the story runner's in-memory session is not faithful to them.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from tests.dialogue_contract import (
    DEPARTEMENT,
    Conversation,
    differences,
    play_in_process,
    play_through_jsonl,
)
from tests.scoring import build_dialogue
from tests.test_stories import SHIPPED, STORIES

ALL = STORIES + SHIPPED

Played = tuple[dict[str, Conversation], dict[str, list[dict[str, Any]]]]


@pytest.fixture(scope="module")
def played(
    knowledge: KnowledgeBase, gazetteer: Gazetteer, tmp_path_factory: pytest.TempPathFactory
) -> Played:
    dialogue = build_dialogue(knowledge, gazetteer, DEPARTEMENT, None)  # the real date, as chat
    conversations = play_in_process(ALL, dialogue)
    workdir = tmp_path_factory.mktemp("contract")
    answers = play_through_jsonl(conversations, workdir / "aiguillage.db", workdir)
    return {c.user: c for c in conversations}, answers


def test_every_story_is_played_and_every_line_gets_one_answer(played: Played) -> None:
    conversations, answers = played
    assert set(conversations) == {s.id for s in ALL}
    assert sum(len(c.sent) for c in conversations.values()) >= 150
    assert all(len(answers[user]) == len(c.sent) for user, c in conversations.items())


@pytest.mark.parametrize("story_id", [s.id for s in ALL])
def test_the_story_is_the_same_through_json_lines(story_id: str, played: Played) -> None:
    conversations, answers = played
    problems = differences(conversations[story_id], answers[story_id])
    assert not problems, "\n".join(problems)


def test_a_difference_is_reported_readably(played: Played) -> None:
    conversations, answers = played
    story_id = next(iter(conversations))
    altered = [dict(a) for a in answers[story_id]]
    altered[0] = {**altered[0], "trace": {**altered[0]["trace"], "need": "changed"}}
    problems = differences(conversations[story_id], altered)
    assert problems and problems[0].startswith("turn 1 {") and "trace differ" in problems[0]
    assert '"need": "changed"' in problems[0]
