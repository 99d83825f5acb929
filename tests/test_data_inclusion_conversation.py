"""Import → check → conversation: an imported service is proposed, through the real dispatcher
and store, to a person who writes from Toul that their car broke down, with its phone in the
national format and today's opening state; "plus d'infos sur le 1" then gives its hours, cost,
how to get in and address. (The tests' clock is 2026-12-01, a Tuesday, at 10:00.)
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.kb.loader import load_knowledge
from bot.places import Gazetteer
from bot.store import Store
from tests.conftest import TODAY, Conversation
from tests.data_inclusion_support import copy_knowledge, run_import
from tests.test_data_inclusion_import import check


async def test_an_imported_garage_is_proposed_with_its_address_and_phone(
    tmp_path: Path, gazetteer: Gazetteer, store: Store
) -> None:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    assert run_import(knowledge, gazetteer).ok
    assert check(knowledge).returncode == 0
    kb = load_knowledge(knowledge, gazetteer, today=TODAY)
    dialogue = OrientationDialogue(kb, gazetteer, DialogueSettings(), "54", today=TODAY)
    person = Conversation(Dispatcher(store, lambda: dialogue))

    turn = await person.say("ma voiture est en panne, j'habite à Toul")

    first = turn.trace.structures[0]
    assert first["id"] == "mes-aides--garage-toulois"
    assert first["categorie"] == "garage_solidaire" and first["distance_km"] == 0.0
    first_card = re.search(r"^1[).] (.*?)(?=^\d[).] |\Z)", person.text, re.M | re.S)
    assert first_card is not None
    card = first_card.group(1)
    assert card.startswith("Garage solidaire du Toulois — Garage solidaire, ")
    assert "Toul" in card
    assert "☎ 03 83 00 00 02" in card  # validated and written in the national format
    assert "ouvert aujourd'hui jusqu'à 17 h" in card  # horaires_accueil, evaluated now
    assert "(exemple)" not in card.splitlines()[0]  # a real record, not an example

    await person.say("plus d'infos sur le 1")
    details = person.text
    assert "📍 3 avenue du Maréchal Foch" in details
    assert "Du lundi au vendredi : 9 h–17 h" in details and "samedi : 9 h–12 h" in details
    assert "Coût : payant" in details and "Adhésion de 10 € par an." in details
    assert "Vous pouvez vous présenter sur place." in details
    assert "Vous pouvez appeler le 03 83 00 00 02." in details
