"""Import → check → conversation: an imported service is proposed, through the real dispatcher
and store, to a person who writes from Toul that their car broke down.

Today's replies show the name, category, distance, address and phone. Once the lead's result
cards show more, this test should also assert: today's opening state from `horaires_accueil`
("Mo-Fr 09:00-17:00; Sa 09:00-12:00": "ouvert aujourd'hui jusqu'à 17 h"), the cost (`frais:
payant`, "Adhésion de 10 € par an."), how to get in (`modes_mobilisation`: se présenter,
téléphoner) and the phone in the national format ("03 83 00 00 02").
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
    assert "Toul" in card  # today: "📍 3 avenue du Maréchal Foch, Toul"
    assert "383000002" in re.sub(r"\D", "", card)  # today "☎ +33383000002"; cards: "03 83 00 00 02"
    assert "(exemple)" not in card.splitlines()[0]  # a real record, not an example
