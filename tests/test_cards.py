"""Result cards a person can act on (issue 8): what a record has is shown, what it lacks is not.

A knowledge base of our own: the shipped one plus `departements/54-cartes.yaml`, with a garage
that has hours and a phone, a mobility service given only remotely, and a summer-only youth
cooperative. The tests' clock is Tuesday 2026-12-01 at 10:00.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.kb.loader import load_knowledge
from bot.places import Gazetteer
from bot.store import Store
from tests.conftest import TODAY, Conversation
from tests.data_inclusion_support import copy_knowledge

CARDS = """\
structures:
  - source: local
    id: local--cartes-garage
    nom: Garage des cartes
    date_maj: 2026-11-20
    commune: Lunéville
    code_postal: "54300"
    code_insee: "54329"
    adresse: 2 rue des Cartes
    telephone: "+33 3 83 11 22 33"
    horaires_accueil: "Sa 09:00-12:00"
    site_web: https://garage-des-cartes.example.org
    categories: [garage_solidaire]
  - source: local
    id: local--cartes-mobilite
    nom: Mobilité à distance des cartes
    date_maj: 2026-11-20
    commune: Lunéville
    code_insee: "54329"
    categories: [plateforme_mobilite]
  - source: local
    id: local--cartes-ete
    nom: Coopérative d'été des cartes
    date_maj: 2026-11-20
    commune: Lunéville
    code_insee: "54329"
    categories: [cjs]
services:
  - source: local
    structure_id: local--cartes-garage
    id: local--cartes-garage--reparation
    nom: Réparations à petit prix
    description: Le garage répare votre voiture à petit prix.
    date_maj: 2026-11-20
    categorie: garage_solidaire
    frais: payant
    frais_precisions: Adhésion de 5 € par an.
    modes_mobilisation: [se-presenter, telephoner]
    mobilisable_par: [usagers, professionnels]
  - source: local
    structure_id: local--cartes-mobilite
    id: local--cartes-mobilite--conseil
    nom: Conseil mobilité par téléphone
    description: Un conseiller mobilité vous aide par téléphone.
    date_maj: 2026-11-20
    categorie: plateforme_mobilite
    modes_accueil: [a-distance]
    lien_mobilisation: https://mobilite-des-cartes.example.org/inscription
    modes_mobilisation: [utiliser-lien-mobilisation]
    mobilisable_par: [usagers]
  - source: local
    structure_id: local--cartes-ete
    id: local--cartes-ete--cjs
    nom: Coopérative jeunesse de l'été
    description: Une coopérative jeunesse de services pendant l'été.
    date_maj: 2026-11-20
    categorie: cjs
    periode: {mois: [6, 7, 8]}
"""


@pytest.fixture
def person(tmp_path: Path, gazetteer: Gazetteer, store: Store) -> Conversation:
    knowledge = copy_knowledge(tmp_path / "knowledge")
    (knowledge / "departements" / "54-cartes.yaml").write_text(CARDS, encoding="utf-8")
    kb = load_knowledge(knowledge, gazetteer, today=TODAY)
    dialogue = OrientationDialogue(kb, gazetteer, DialogueSettings(), "54", today=TODAY)
    return Conversation(Dispatcher(store, lambda: dialogue))


async def test_a_card_shows_the_phone_and_today_s_state(person: Conversation) -> None:
    turn = await person.say("ma voiture est en panne, j'habite Lunéville")
    assert turn.trace.structures[0]["id"] == "local--cartes-garage"
    assert "☎ 03 83 11 22 33" in person.text
    assert "fermé aujourd'hui, ouvre samedi à 9 h" in person.text


async def test_more_about_one_result_shows_everything_it_has(person: Conversation) -> None:
    await person.say("ma voiture est en panne, j'habite Lunéville")
    turn = await person.press("info:1")
    text = person.text
    assert "📍 2 rue des Cartes, 54300 Lunéville" in text
    assert "Samedi : 9 h–12 h" in text
    assert "Coût : payant — Adhésion de 5 € par an." in text
    assert "🌐 https://garage-des-cartes.example.org" in text
    assert "✉" not in text, "no e-mail in the record: nothing is said about it"
    assert turn.replies[-1].structures[0].latitude is not None, "a venue for the platform"


async def test_follow_up_questions_are_answered_for_the_results_shown(
    person: Conversation,
) -> None:
    await person.say("ma voiture est en panne, j'habite Lunéville")
    await person.say("ils sont ouverts quand ?")
    assert "Samedi : 9 h–12 h" in person.text
    await person.say("c'est payant ?")
    assert "Adhésion de 5 € par an." in person.text
    turn = await person.say("on peut y aller en bus ?")
    assert "need:mobilite_accompagnement" in person.choices
    assert turn.trace.need == "information"


async def test_a_remote_service_has_no_place_pin(person: Conversation) -> None:
    await person.say("j'ai besoin d'aide pour me déplacer, j'habite Lunéville")
    index = next(
        i
        for i, s in enumerate(person.last.trace.structures if person.last else [], start=1)
        if s["id"] == "local--cartes-mobilite"
    )
    await person.press(f"info:{index}")
    text = person.text
    assert "📍" not in text and "Service à distance" in text
    assert "Inscription en ligne : https://mobilite-des-cartes.example.org/inscription" in text


async def test_out_of_season_says_when_it_runs_and_comes_after(person: Conversation) -> None:
    turn = await person.say("j'ai 17 ans, je voudrais faire une coopérative jeunesse à Lunéville")
    ids = [s["id"] for s in turn.trace.structures]
    assert "local--cartes-ete" in ids
    assert "ouvert de juin à août" in person.text


def test_a_service_out_of_season_ranks_after_those_open_now(person: Conversation) -> None:
    """Two youth cooperatives at the same distance: the summer one comes after, in December."""
    from bot.conversation.state import ConversationState
    from bot.ranking import Proposal

    dialogue = person.dispatcher._dialogue()
    orientation = dialogue.services.orientation  # type: ignore[attr-defined]
    summer = orientation.services.by_key["local--cartes-ete--cjs"]
    garage = orientation.services.by_key["local--cartes-garage--reparation"]
    state = ConversationState(need="jeunes_cooperative")
    ordered = orientation._ordered(
        state, [Proposal(summer, 1.0, True), Proposal(garage, 1.0, True)]
    )
    assert [p.place for p in ordered] == [garage, summer]
