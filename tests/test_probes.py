"""The probe set: 15 first messages written outside the team, scored as its header says.

`tests/data/probes.yaml` is a verbatim copy of `../shared/probes/orientation-probes.yaml`, so
that a fresh clone can run it; when the shared file is there, the copy must be identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from bot.stories import DialogueFactory
from tests.scoring import PROBES, Entry, dialogue_factory, load_entries, score

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "probes" / "orientation-probes.yaml"
ENTRIES = load_entries(PROBES)


def test_the_probe_file_is_a_verbatim_copy_of_the_shared_one() -> None:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not beside this checkout")
    assert PROBES.read_bytes() == SHARED.read_bytes(), "copy ../shared/probes/ again"


def test_the_probe_file_holds_what_its_meta_says() -> None:
    data = yaml.safe_load(PROBES.read_text(encoding="utf-8"))
    meta = data["meta"]
    assert len(ENTRIES) == meta["n_messages"] == 15
    assert {e.persona.departement for e in ENTRIES} == set(meta["departements"])
    assert len({e.id for e in ENTRIES}) == len(ENTRIES)


@pytest.fixture(scope="module")
def dialogues(knowledge: KnowledgeBase, gazetteer: Gazetteer) -> DialogueFactory:
    return dialogue_factory(knowledge, gazetteer)


@pytest.mark.expectations
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_probe(entry: Entry, dialogues: DialogueFactory) -> None:
    outcome = score(entry, dialogues)
    assert outcome.passed, "\n" + outcome.report()
