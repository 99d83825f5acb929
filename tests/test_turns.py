"""One turn answers everything a message carries (issue 7), through the real dispatcher."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.config import DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer
from bot.store import Store
from tests.conftest import TODAY, Conversation

Person = Callable[[str], Conversation]


@pytest.fixture
def person_in(store: Store, knowledge: KnowledgeBase, gazetteer: Gazetteer) -> Person:
    """A person writing to the bot deployed in département `home`."""

    def make(home: str) -> Conversation:
        dialogue = OrientationDialogue(knowledge, gazetteer, DialogueSettings(), home, TODAY)
        return Conversation(Dispatcher(store, lambda: dialogue), user=f"u{home}")

    return make


def categories(person: Conversation) -> list[str]:
    assert person.last is not None
    return [s["categorie"] for s in person.last.trace.structures]


async def test_a_question_with_a_need_and_a_place_is_answered_and_oriented_at_once(
    person_in: Person,
) -> None:
    person = person_in("08")
    turn = await person.say(
        "est-ce qu'il existe une auto-école solidaire à Rethel ? je touche le RSA"
    )
    assert turn.trace.faq, "the question gets its short answer"
    assert "Source" in person.text
    assert "auto_ecole_solidaire" in categories(person) or "plateforme_mobilite" in categories(
        person
    )
    assert turn.trace.asking != "commune"
    turn = await person.say("et pour une voiture pas chère ?")
    assert turn.trace.asking != "commune", "the commune said once is never asked again"


async def test_a_pure_definition_question_is_information(person: Conversation) -> None:
    turn = await person.say("c'est quoi le pass IAE ?")
    assert turn.trace.need == "information"
    assert turn.trace.faq == ["faq_pass_iae"]
    assert turn.trace.structures == []


async def test_two_questions_in_one_message_get_both_answers(person: Conversation) -> None:
    turn = await person.say("PASS IAE ça veut dire quoi exactement ? Et ça dure combien de temps ?")
    assert turn.trace.need == "information"
    assert turn.trace.faq == ["faq_pass_iae", "faq_iae_salaire_duree"]
    assert turn.trace.asking is None


async def test_a_definition_beside_a_problem_of_ones_own_is_answered_and_oriented(
    person_in: Person,
) -> None:
    person = person_in("93")
    turn = await person.say(
        "slt c koi exactement un garage solidaire?? ma clio fait un bruit de ouf qd je freine "
        "et jai pas les moyens dun vrai garage, jsuis a noisy le sec"
    )
    assert turn.trace.need == "mobilite_reparation"
    assert "garage_solidaire" in categories(person)


async def test_an_arrival_a_birth_year_and_an_age_said_of_someone_are_facts(
    person_in: Person,
) -> None:
    person = person_in("58")
    turn = await person.say(
        "Je suis arrivée à Prémery en octobre et je suis au chômage depuis 2023. On m'a dit "
        "qu'ici il y a une entreprise qui embauche tous les chômeurs de longue durée"
    )
    assert turn.trace.need == "emploi_territoire"
    assert turn.trace.eligibility.get("ebe_tzcld") == "non_eligible", "two months: too soon"
    assert turn.trace.asking is None
    young = person_in("08")
    turn = await young.say(
        "Je suis né en 2004, j'aimerais essayer un truc en groupe où on monte une activité "
        "ensemble pendant quelques mois, j'habite Sedan"
    )
    assert turn.trace.need == "jeunes_cooperative" and turn.trace.asking is None
    assert turn.trace.eligibility.get("cjm") == "eligible"  # born in 2004: 22


async def test_a_new_job_and_a_childcare_question_is_out_of_scope_not_a_job_search(
    person_in: Person,
) -> None:
    person = person_in("93")
    turn = await person.say(
        "Bonjour, je viens d'être prise dans une entreprise d'insertion à Drancy mais je n'ai "
        "personne pour garder mon bébé. Comment trouver une place en crèche vite ?"
    )
    assert turn.trace.need == "hors_perimetre"
    assert "monenfant.fr" in person.text
    assert categories(person) == []


async def test_a_structure_name_asked_alone_asks_where_the_person_lives(
    person: Conversation,
) -> None:
    turn = await person.say("garage solidaire ?")
    assert turn.trace.need == "mobilite_reparation" and turn.trace.asking == "commune"


async def test_a_youth_cooperative_at_17_is_the_summer_one_not_refused(
    person_in: Person,
) -> None:
    person = person_in("93")
    turn = await person.say(
        "j'habite à Noisy-le-Sec, j'ai dix-sept ans et cet été je voudrais gagner un peu "
        "d'argent avec une coopérative de jeunes"
    )
    assert turn.trace.eligibility.get("cjs") == "eligible"
    assert categories(person)[0] == "cjs"


async def test_someone_in_a_chantier_asking_about_the_pass_gets_the_answer_only(
    person_in: Person,
) -> None:
    person = person_in("31")
    turn = await person.say(
        "Je suis en contrat au chantier d'insertion des berges de Garonne à Muret et mon "
        "encadrant me parle de renouveler mon PASS IAE. C'est quoi exactement ce pass ?"
    )
    assert turn.trace.need == "information" and "faq_pass_iae" in turn.trace.faq
    assert categories(person) == []


async def test_a_topic_out_of_scope_named_is_answered_before_a_close_faq(
    person_in: Person,
) -> None:
    person = person_in("60")
    turn = await person.say(
        "Bonjour, je voudrais déposer une demande de naturalisation. Quels papiers il faut et "
        "c'est où à Beauvais ?"
    )
    assert turn.trace.need == "hors_perimetre"


async def test_a_homonym_next_to_another_place_named_needs_no_question(
    person_in: Person,
) -> None:
    person = person_in("60")
    turn = await person.say(
        "J'aimerais vendre mes céramiques sans être auto-entrepreneuse toute seule, garder un "
        "statut de salariée. J'habite à Margny, à côté de Compiègne."
    )
    assert turn.trace.asking is None
    assert "Margny-lès-Compiègne" in person.text


async def test_iae_structures_come_with_the_commune_and_no_question_first(
    person: Conversation,
) -> None:
    turn = await person.say("je cherche du travail à Nancy")
    assert turn.trace.structures, "IAE never refuses: nothing to ask before showing"
    assert {"aci", "ei", "ai", "etti", "eiti"} <= set(turn.trace.eligibility)


async def test_eligibility_is_said_for_every_category_of_the_need(person: Conversation) -> None:
    turn = await person.say("je suis au RSA à Nancy et je cherche du travail")
    assert turn.trace.eligibility == {c: "eligible" for c in ("aci", "ei", "ai", "etti", "eiti")}


async def test_a_fact_given_in_any_wording_is_never_asked(person: Conversation) -> None:
    await person.say("j'ai dix-sept ans et je voudrais faire une coopérative jeunesse")
    turn = await person.say("Nancy")
    assert turn.trace.asking != "age"
    assert turn.trace.eligibility.get("cjs") == "eligible"


async def test_a_cjs_needs_the_age_and_asks_only_that(person: Conversation) -> None:
    turn = await person.say("je voudrais faire une coopérative jeunesse à Nancy")
    assert turn.trace.asking == "age", "the age can refuse a CJS: it is the one question"
    turn = await person.say("16")
    assert turn.trace.structures and turn.trace.eligibility.get("cjs") == "eligible"


async def test_a_workplace_named_about_oneself_is_context(person: Conversation) -> None:
    turn = await person.say("je bosse déjà en ETTI et je cherche un garage pas cher à Nancy")
    assert turn.trace.need == "mobilite_reparation"
    assert categories(person) == ["garage_solidaire"] * len(categories(person))


async def test_someone_in_a_chantier_is_offered_the_next_steps(person: Conversation) -> None:
    await person.say(
        "Je suis en CDDI au chantier, mon contrat se termine en mars. Après je voudrais "
        "travailler dans une vraie entreprise. J'habite à Nancy."
    )
    shown = categories(person)
    assert shown and set(shown) <= {"ei", "ai", "etti", "eiti"}


async def test_a_blocked_job_is_a_mobility_need(person: Conversation) -> None:
    turn = await person.say("sans permis, impossible d'accepter le poste à 25 km de Lunéville")
    assert turn.trace.need is not None and turn.trace.need.startswith("mobilite")


async def test_far_and_no_car_is_mobility_support_not_a_garage(person: Conversation) -> None:
    turn = await person.say("c'est loin, j'ai pas de voiture, j'habite Lunéville")
    assert turn.trace.need == "mobilite_accompagnement"
    assert "garage_solidaire" not in categories(person)


async def test_two_needs_the_main_one_is_oriented_the_second_offered(
    person: Conversation,
) -> None:
    turn = await person.say("je cherche du travail à Nancy et ma voiture est en panne")
    assert turn.trace.need in ("emploi_insertion", "mobilite_reparation")
    other = {"emploi_insertion", "mobilite_reparation"} - {turn.trace.need}
    assert f"need:{other.pop()}" in person.choices
    assert "Vous parlez aussi de" in person.text


async def test_a_salaried_job_seeker_does_not_see_the_self_employment_scheme_first(
    person: Conversation,
) -> None:
    await person.say("je cherche du travail à Nancy")
    assert categories(person)[0] != "eiti"


async def test_a_young_person_without_follow_up_gets_the_mission_locale_first(
    person: Conversation,
) -> None:
    await person.say("j'ai 19 ans, je cherche du travail à Nancy")
    assert categories(person)[0] == "mission_locale"
    assert "Contrat d'engagement jeune" in person.text


async def test_a_young_person_already_followed_is_not_sent_back_there(
    person: Conversation,
) -> None:
    await person.say(
        "j'ai 19 ans, mon conseiller de la mission locale m'a dit de chercher du travail à Nancy"
    )
    assert "mission_locale" not in categories(person)


async def test_thanks_get_a_kind_word_not_a_new_greeting(person: Conversation) -> None:
    await person.say("je cherche du travail à Nancy")
    await person.say("merci")
    assert "Avec plaisir" in person.text
    assert "Bonjour" not in person.text


async def test_a_sentence_is_never_taken_as_a_button(person_in: Person) -> None:
    person = person_in("31")
    await person.say("/start")
    assert "need:mobilite_permis" in person.choices
    turn = await person.say("je veux passer le permis, j'habite à Toulouse")
    assert turn.trace.need == "mobilite_permis"
    assert turn.trace.asking != "commune", "the commune in the sentence is kept"
    assert turn.trace.structures


async def test_a_choice_that_was_not_offered_is_refused(person: Conversation) -> None:
    await person.say("bonjour")
    turn = await person.press("sit:" + "X" * 50)
    assert turn.trace.structures == []
    assert "texte" in person.text


async def test_the_first_answer_with_three_structures_fits_a_phone(person: Conversation) -> None:
    turn = await person.say("je suis au RSA à Nancy et je cherche un chantier d'insertion")
    results = next(r for r in turn.replies if r.structures)
    assert len(turn.trace.structures) == 3
    assert len(results.text) <= 700, results.text
    assert results.text.count("Qui décide") == 1
    assert results.text.count("Pourquoi") == 1, "the same pre-screen is said once"


def test_a_referent_is_chosen_in_the_persons_own_territory(
    dialogue: OrientationDialogue, gazetteer: Gazetteer
) -> None:
    """Chantilly (60) is nearer to Saint-Denis (93) than to Beauvais: its referent is in the 60."""
    from bot.ranking import Place, PlaceIndex

    orientation = dialogue.services.orientation
    agencies = iter(orientation.kb.orienteurs)

    def office(insee: str) -> Place:
        commune = gazetteer.get(insee)
        assert commune is not None and commune.lat is not None
        return Place(None, next(agencies), "france_travail", commune.lat, commune.lon,
                     frozenset(), False, commune.dept)  # fmt: skip

    index = PlaceIndex([office("93066"), office("60057")])
    chantilly = gazetteer.get("60141")
    assert chantilly is not None
    nearest = index.nearest(["france_travail"], chantilly, 80)
    assert nearest is not None and nearest.place.dept == "93"
    own = index.nearest(["france_travail"], chantilly, 80, chantilly.dept)
    assert own is not None and own.place.dept == "60"


async def test_the_same_request_said_twice_is_answered_twice(person: Conversation) -> None:
    first = await person.say("je cherche du travail à Nancy")
    again = await person.say("je cherche du travail à Nancy")
    assert first.trace.structures
    assert again.trace.structures == first.trace.structures
    assert "pas compris" not in person.text


async def test_someone_writing_in_english_reads_the_pre_screen_in_english(
    person: Conversation,
) -> None:
    await person.say("I am looking for a job in Nancy, I receive RSA")
    assert "Why: You told me: RSA recipient." in person.text  # an acronym stays one
    assert "You seem to meet the conditions: the employer will confirm" in person.text
    assert "Who decides: The integration employer checks your criteria" in person.text
    assert "Vous semblez" not in person.text and "vérifie vos critères" not in person.text


async def test_someone_writing_in_french_reads_it_in_french(person: Conversation) -> None:
    await person.say("je cherche du travail à Nancy, je suis au RSA")
    assert "Vous semblez remplir les conditions : la structure le confirmera" in person.text
    assert "Qui décide : La structure d'insertion vérifie vos critères" in person.text


async def test_an_answer_in_english_gives_its_source_the_english_way(
    person: Conversation,
) -> None:
    await person.say("what is an ACI?")
    assert "\nSource: https://" in person.text and "Source :" not in person.text


async def test_in_english_a_structure_s_details_and_my_data_read_the_english_way(
    person: Conversation,
) -> None:
    await person.say("I am looking for a job in Nancy, I receive RSA")
    await person.say("1")
    assert "\nHow to get in: " in person.text and "\nCost: free" in person.text
    await person.say("/mes_donnees")
    assert "• Town: Nancy" in person.text and "• Situation: RSA recipient" in person.text
    labels = ("How to get in", "Conditions", "Cost", "Accessibility", "Town", "Situation", "Need")
    assert not any(f"{label} :" in person.text for label in labels)


async def test_in_french_they_keep_the_space_before_the_colon(person: Conversation) -> None:
    await person.say("je cherche du travail à Nancy, je suis au RSA")
    await person.say("1")
    assert "\nPour y entrer : " in person.text and "\nCoût : gratuit" in person.text
    await person.say("/mes_donnees")
    assert "• Commune : Nancy" in person.text
