"""Conversations that read like dialogues, through the real dispatcher and SQLite store."""

from __future__ import annotations

from pathlib import Path

from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.store import Store
from tests.conftest import Conversation


async def test_one_message_with_everything_is_answered_at_once(person: Conversation) -> None:
    turn = await person.say("je suis au RSA à Nancy et je cherche un chantier d'insertion")
    assert turn.trace.need == "emploi_insertion"
    assert turn.trace.asking is None
    first = turn.trace.structures[0]
    assert first["categorie"] == "aci"
    distances = [s["distance_km"] for s in turn.trace.structures if s["distance_km"] is not None]
    assert distances == sorted(distances)
    assert turn.trace.eligibility["aci"] == "eligible"
    text = person.text
    assert "km" in text
    assert "Pourquoi" in text  # the one-line pre-screen
    assert "décide" in text  # who really decides
    assert "exemple" in text  # invented local records are marked


async def test_first_contact_says_what_is_kept_and_why(person: Conversation) -> None:
    await person.say("bonjour")
    assert "/mes_donnees" in person.text and "/oubli" in person.text
    await person.say("bonjour")
    assert "/mes_donnees" not in person.text  # said once, not at every turn


async def test_the_bot_asks_only_what_is_missing(person: Conversation) -> None:
    turn = await person.say("je cherche du boulot")
    assert turn.trace.asking == "commune"
    turn = await person.say("luneville")
    assert turn.trace.structures, "IAE never refuses: the structures come with the commune"
    assert turn.trace.eligibility.get("aci") == "a_verifier"
    assert turn.trace.asking == "situation", "then one follow-up, for the pre-screen"
    assert "sit:RSA" in person.choices
    turn = await person.press("sit:RSA")
    assert turn.trace.asking is None
    assert turn.trace.eligibility.get("aci") == "eligible"
    assert "semblez remplir les conditions" in person.text
    assert "km" not in person.text, "the list just shown is not repeated"


async def test_choices_can_be_answered_by_number(person: Conversation) -> None:
    await person.say("je cherche du travail à Nancy")
    index = person.choices.index("sit:RSA") + 1
    turn = await person.say(str(index))
    assert turn.trace.eligibility.get("aci") == "eligible"


async def test_a_fifteen_year_old_asking_for_a_cjs_gets_a_kind_alternative(
    person: Conversation,
) -> None:
    turn = await person.say("j'ai 15 ans et je voudrais faire une CJS à Nancy")
    assert turn.trace.need == "jeunes_cooperative"
    assert turn.trace.eligibility.get("cjs") == "non_eligible"
    assert all(s["categorie"] != "cjs" for s in turn.trace.structures)
    assert "pas possible" in person.text or "pas encore" in person.text


async def test_tzcld_asks_durations_then_explains_a_newcomer_is_not_yet_eligible(
    person: Conversation,
) -> None:
    turn = await person.say(
        "je voudrais travailler dans l'entreprise zéro chômeur de Colombey-les-Belles"
    )
    assert turn.trace.asking == "duree_sans_emploi"
    turn = await person.say("2 ans")
    assert turn.trace.asking == "residence_depuis"
    turn = await person.say("1 mois")
    assert turn.trace.eligibility.get("ebe_tzcld") == "non_eligible"
    assert turn.trace.structures, "an alternative is offered"
    assert all(s["categorie"] != "ebe_tzcld" for s in turn.trace.structures)


async def test_tzcld_resident_long_enough_is_pre_screened_eligible(person: Conversation) -> None:
    await person.say("territoire zéro chômeur à Colombey-les-Belles")
    turn = await person.say("depuis 3 ans")
    assert turn.trace.structures[0]["categorie"] == "ebe_tzcld", "shown after one question"
    assert turn.trace.asking == "residence_depuis", "then the fact that can still refuse"
    turn = await person.say("10 ans")
    assert turn.trace.eligibility.get("ebe_tzcld") == "eligible"
    assert "semblez remplir les conditions" in person.text


async def test_homonyms_are_asked(person: Conversation) -> None:
    turn = await person.say("je cherche un garage solidaire à Saint-Denis")
    assert turn.trace.asking == "confirmation_commune"
    assert "commune:93066" in person.choices
    turn = await person.press("commune:93066")
    assert turn.trace.structures


async def test_a_question_is_answered_from_the_faq_with_its_source(person: Conversation) -> None:
    turn = await person.say("c'est quoi une CAE ?")
    assert turn.trace.faq == ["faq_cae_fonctionnement"]
    assert "http" in person.text


async def test_no_amount_is_ever_computed_for_money_questions(person: Conversation) -> None:
    turn = await person.say("est-ce que je perds mon RSA si je travaille ?")
    assert turn.trace.faq == ["faq_cumul_rsa_salaire"]
    assert "€" not in person.text


async def test_an_emergency_gets_the_numbers_first(person: Conversation) -> None:
    turn = await person.say("je dors dehors ce soir")
    assert turn.trace.need == "urgence"
    assert "115" in person.text


async def test_out_of_scope_gets_an_honest_answer(person: Conversation) -> None:
    turn = await person.say("je cherche un logement")
    assert turn.trace.need == "hors_perimetre"


async def test_not_understood_is_logged_for_admins(person: Conversation) -> None:
    turn = await person.say("xqzw blorp fnarg")
    assert turn.trace.need == "information"
    questions = await person.dispatcher.store.unanswered_questions()
    assert [q["text"] for q in questions] == ["xqzw blorp fnarg"]
    assert "need:emploi_insertion" in person.choices


async def test_my_data_shows_what_is_kept_and_forget_erases_it(person: Conversation) -> None:
    await person.say("j'ai 19 ans, j'habite à Nancy")
    await person.say("/mes_donnees")
    assert "Nancy" in person.text and "19" in person.text
    await person.say("/oubli")
    key = person.dispatcher.store.key_for(person.platform, person.user)
    assert await person.dispatcher.store.load_state(key) is None
    await person.say("/mes_donnees")
    assert "Nancy" not in person.text


async def test_a_deep_link_carries_the_referral_and_presets(person: Conversation) -> None:
    turn = await person.open_link("CD54-NANCY__b-mobilite_permis__c-54395")
    assert "CD54-NANCY" in person.text
    assert turn.trace.need == "mobilite_permis"
    assert turn.trace.structures


async def test_a_typed_code_works_like_a_deep_link(person: Conversation) -> None:
    await person.say("code CD54-NANCY")
    assert "CD54-NANCY" in person.text
    summary = await person.dispatcher.store.usage_summary("2000-01-01")
    assert summary["par_code"] == {"CD54-NANCY": 1}


async def test_a_location_share_feeds_the_distance(person: Conversation) -> None:
    await person.say("ma voiture est en panne")
    turn = await person.share_location(48.5925, 6.4921)  # Lunéville
    assert turn.trace.structures
    assert turn.trace.structures[0]["distance_km"] is not None


async def test_callback_request_needs_consent_and_is_erasable(person: Conversation) -> None:
    await person.say("/conseiller")
    await person.press("cb:ask")
    assert person.last is not None and person.last.trace.asking == "consentement"
    await person.press("cb:yes")
    await person.say("06 12 34 56 78")
    requests = await person.dispatcher.store.callbacks()
    assert [r["telephone"] for r in requests] == ["06 12 34 56 78"]
    await person.say("/oubli")
    assert await person.dispatcher.store.callbacks() == []


async def test_english_speakers_are_answered_in_english(person: Conversation) -> None:
    turn = await person.say("hello, I am looking for a job in Nancy")
    assert turn.trace.structures
    assert "Here is what I suggest near Nancy" in person.text
    assert "If you like, tell me your situation" in person.text
    assert "I keep your town" in person.text  # the privacy notice too


async def test_photos_get_a_kind_answer(dispatcher: Dispatcher) -> None:
    from bot.messages import Incoming

    turn = await dispatcher.handle(Incoming("test", "u9", "p1", unsupported="photo"))
    assert "texte" in turn.replies[-1].text


async def test_state_survives_a_restart(tmp_path: Path, dialogue: OrientationDialogue) -> None:
    async with Store.open(tmp_path / "restart.db") as store:
        await Conversation(Dispatcher(store, lambda: dialogue)).say("je cherche du boulot")
    async with Store.open(tmp_path / "restart.db") as reopened:  # a new process, same file
        turn = await Conversation(Dispatcher(reopened, lambda: dialogue)).say("Nancy")
    assert turn.trace.need == "emploi_insertion"
    assert turn.trace.asking == "situation"


async def test_garbage_and_huge_messages_get_a_clear_answer(person: Conversation) -> None:
    failure = "j'ai eu un problème"
    await person.say("travail " * 50000)
    assert "très long" in person.text and failure not in person.text
    for garbage in ("💥" * 500, "\x00\x01\x02", "", "?"):
        turn = await person.say(garbage)
        assert failure not in person.text
        assert "need:emploi_insertion" in person.choices, garbage  # the menu, to go on
        assert turn.trace.structures == []  # nothing is invented from garbage


async def test_a_question_about_what_the_person_needs_is_answered_first(
    person: Conversation,
) -> None:
    turn = await person.say("combien je serais payé dans un chantier ?")
    assert turn.trace.faq == ["faq_iae_salaire_duree"]
    assert "need:emploi_insertion" in person.choices  # the search is one tap away


async def test_asking_for_help_shows_the_menu_and_is_not_logged(person: Conversation) -> None:
    await person.say("aide moi")
    assert "need:emploi_insertion" in person.choices
    assert await person.dispatcher.store.unanswered_questions() == []


async def test_a_situation_given_is_never_asked_again(person: Conversation) -> None:
    turn = await person.say("je sors de prison, je cherche du travail à Nancy")
    assert turn.trace.structures, "IAE structures are shown at once: the pre-screen never refuses"
    assert turn.trace.asking is None, "everything came in one message: nothing is asked"
    assert "dites-moi votre âge" in person.text, "the next fact that counts is only offered"
    assert "Quelle est votre situation" not in person.text
    assert "dites-moi votre situation" not in person.text
    turn = await person.say("j'ai 52 ans")
    assert turn.trace.eligibility.get("ai") == "eligible", "prison + 50 or over: two criteria"


async def test_food_and_training_get_an_honest_pointer(person: Conversation) -> None:
    turn = await person.say("j'ai plus rien à manger")
    assert turn.trace.need == "hors_perimetre" and "CCAS" in person.text
    turn = await person.say("je veux une formation")
    assert turn.trace.need == "hors_perimetre" and "France Travail" in person.text


async def test_where_is_the_mission_locale_asks_the_commune_then_answers(
    person: Conversation,
) -> None:
    turn = await person.say("où est la mission locale ?")
    assert turn.trace.asking == "commune"
    turn = await person.say("Lunéville")
    assert turn.trace.structures and "Mission locale" in turn.trace.structures[0]["nom"]


async def test_an_agency_named_france_travail_is_not_a_wish_for_work(
    person: Conversation,
) -> None:
    turn = await person.say("adresse de france travail à Nevers")
    assert turn.trace.need == "information"
    assert "France Travail" in turn.trace.structures[0]["nom"]
