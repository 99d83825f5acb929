"""Understanding: one message → one frame of everything heard, on the shipped knowledge base."""

from __future__ import annotations

import pytest

from bot.conversation.dialogue import OrientationDialogue
from bot.conversation.frame import Frame
from bot.conversation.reader import Reader


@pytest.fixture(scope="module")
def reader(dialogue: OrientationDialogue) -> Reader:
    return dialogue.services.reader


def facts(frame: Frame) -> dict[str, object]:
    out: dict[str, object] = {}
    for e in frame.facts:
        if e.fact == "statuts":
            out.setdefault("statuts", []).append(e.value)  # type: ignore[union-attr]
        else:
            out[e.fact] = e.value
    return out


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("jcherche du taf", "je cherche du travail"),
        ("Chui au RSA", "je suis au rsa"),
        ("cest koi une CAE", "c est quoi une cae"),
        ("c quoi", "c est quoi"),
        ("c'est quoi", "c est quoi"),  # not "c est est quoi"
        ("un chantier d'insertion", "un chantier d insertion"),  # not doubled
        ("je suis à Pôle emploi", "je suis a france travail"),
        ("je dors dehors ce soir", "je dors dehors ce soir"),  # everyday words untouched
    ],
)
def test_sms_slang_and_dictation_are_normalised(
    reader: Reader, written: str, normalised: str
) -> None:
    assert reader.normalise(written) == normalised


def test_every_fact_of_one_message_is_heard(reader: Reader) -> None:
    frame = reader.read("je suis au RSA à Nancy et je cherche un chantier d'insertion")
    assert facts(frame) == {"statuts": ["RSA"]}
    assert frame.categories == ("aci",)
    assert frame.main_need == "emploi_insertion"
    assert frame.home is not None
    assert frame.home.resolution.candidates[0].commune.insee == "54395"
    assert frame.wish and not frame.is_question


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("j'ai 17 ans", 17),
        ("jai 17ans", 17),
        ("j'ai dix-sept ans virgule", 17),
        ("I am 20 years old", 20),
        ("I am 19", 19),
        ("Hi, I'm 24, just finished my studies", 24),
        ("dix-neuf ans", 19),
        ("j'ai quarante deux ans", 42),
        ("Maman solo, 24 ans, à Beauvais", 24),
        ("au chômage depuis 2 ans", None),
        ("il y a 3 ans", None),
        ("j'ai 2 enfants", None),
        ("un jeune de vingt ans que je suis", 20),
        ("une dame de 58 ans, demandeuse d'emploi", 58),
        ("je suis née en 1981", 45),  # today is 2026-12-01 in these tests
        ("j'ai 45 ans et mon fils de 16 ans cherche un job d'été", 45),
        ("j'ai 45 ans, mon fils est né en 2010", 45),
        ("au chômage depuis plus de 2 ans que je cherche", None),
    ],
)
def test_ages_in_words_and_in_english_are_not_durations(
    reader: Reader, text: str, age: int | None
) -> None:
    assert facts(reader.read(text)).get("age") == age


def test_the_words_of_a_topic_out_of_scope_are_no_need(reader: Reader) -> None:
    frame = reader.read("Hello, my residence permit runs out in January. Where do I renew it?")
    assert frame.out_of_scope == "papiers" and frame.needs == ()


def test_a_situation_is_no_out_of_scope_question(reader: Reader) -> None:
    frame = reader.read("52 ans, jai pas de diplome, qqun embauche en insertion dans le btp ?")
    assert frame.out_of_scope is None
    assert reader.read("je cherche une formation de cariste").out_of_scope == "formation"


def test_years_of_work_are_no_residence(reader: Reader) -> None:
    heard = facts(reader.read("je suis a pierefitte, jai fait 20 ans ds le batiment"))
    assert "residence_depuis_mois" not in heard


def test_an_age_before_a_word_starting_with_d_is_an_age(reader: Reader) -> None:
    heard = facts(reader.read("un monsieur de 58 ans, demandeur d'emploi, n'a plus de véhicule"))
    assert heard.get("age") == 58
    assert "SANS_VEHICULE" in heard["statuts"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "jobless", "resident"),
    [
        ("je suis au chômage depuis 3 ans", 36, None),
        ("au chômage depuis plus de 2 ans", 25, None),
        ("ça fait 3 ans que je suis au chômage", 36, None),
        ("j'ai perdu mon emploi il y a sept mois", 7, None),
        ("sans emploi depuis des années", 24, None),
        ("sans emploi depuis l'été dernier", 5, None),  # today is 2026-12-01 in these tests
        ("Je vis à Clichy-sous-Bois depuis 2018", None, 101),
        ("installée à Revin depuis 2015, elle n'a plus d'emploi depuis 2022", 53, 137),
        ("reconnue handicapée depuis l'an dernier", None, None),  # about the RQTH
        ("j'habite à Clichy depuis 2011, je travaille plus depuis 2020", 77, 185),
        ("jhabite montrejeau depuis toujours, ca fait trois ans que je trouve rien", 36, 240),
        ("J'ai emménagé à Méru il y a 4 mois, je suis sans emploi depuis 2021", 65, 4),
        ("Je suis arrivée à Prémery en octobre, au chômage depuis 2023", 41, 2),
        ("sans emploi depuis le printemps 2025, j'habite ici depuis 2010", 20, 197),
        ("J'ai été licencié de la scierie en juin dernier.", 6, None),
        ("ça fera deux ans que je cherche, et j'ai toujours vécu ici", None, 240),
        ("j'ai jamais travaillé", 240, None),
        ("inscrit à Pôle emploi depuis la rentrée 2024", 27, None),
        ("J'ai emménagé à Méru à l'été 2025.", None, 17),
        ("arrivé à Lurcy-le-Bourg à la rentrée de septembre 2025", None, 15),
        ("inscrit à France Travail depuis la Toussaint 2023", 37, None),
    ],
)
def test_dates_and_durations_in_everyday_words(
    reader: Reader, text: str, jobless: int | None, resident: int | None
) -> None:
    heard = facts(reader.read(text))
    assert heard.get("sans_emploi_mois") == jobless
    assert heard.get("residence_depuis_mois") == resident


@pytest.mark.parametrize(
    ("text", "statut"),
    [
        ("je suis reconnue handicapée", "RQTH"),
        ("reconnue travailleuse handicapée", "RQTH"),
        ("je n'ai aucun diplôme", "CAP_BEP"),
        ("je suis malvoyant", "TH"),
        ("je sors de prison", "DETENTION_MJ"),
        ("maman solo", "PI"),
        ("je suis salariée d'un chantier d'insertion", "SALARIE_INSERTION"),
        ("je n'ai aucun moyen de transport", "PM"),
    ],
)
def test_situations_in_other_forms(reader: Reader, text: str, statut: str) -> None:
    assert statut in facts(reader.read(text)).get("statuts", [])  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("faire réparer mon scooter pas cher", "mobilite_reparation"),
        ("il faut changer la courroie de distribution de ma voiture", "mobilite_reparation"),
        ("je veux devenir indépendante", "creation_activite"),
        ("essayer mon idée de traiteur", "creation_activite"),
        ("c'est loin, j'ai pas de voiture", "mobilite_accompagnement"),
        ("sans permis, impossible d'accepter le poste à 25 km", "mobilite_accompagnement"),
        ("je veux louer un scooter pour aller travailler", "mobilite_vehicule"),
        ("j'ai la RQTH et je cherche du travail", "emploi_handicap"),
        ("أريد أن أتعلم السياقة", "mobilite_permis"),
        ("bghit nkhdem", "emploi_insertion"),
        ("je voudrais me lancer sans créer ma propre société", "creation_activite"),
        ("je fais des petits travaux au noir, je voudrais me mettre en règle", "creation_activite"),
        ("je panique au volant, il me faudrait des leçons avec un moniteur", "mobilite_permis"),
        ("un groupe de jeunes qui monte une petite entreprise l'été", "jeunes_cooperative"),
        ("essayer un truc en groupe où on monte une activité ensemble", "jeunes_cooperative"),
        ("j'ai la RQTH, je cherche de l'intérim mais adapté à mon handicap", "emploi_handicap"),
        ("je cherche de l'intérim à Nancy", "emploi_insertion"),
        # a precise form of a job, named, leads the general need heard beside it
        (
            "j'ai plus travaillé depuis 2019, une entreprise embauche tout le monde en CDI ?",
            "emploi_territoire",
        ),
        ("bghit nkhdem had sif f chi coopérative dyal chabab", "jeunes_cooperative"),
        (
            "le car arrive trop tard, comment trouver des gens qui font la route le matin ?",
            "mobilite_covoiturage",
        ),
        # a wildcard word covers the word itself, whatever its stem ("embauche*": "embauche")
        ("qqun embauche en insertion dans le btp ?", "emploi_insertion"),
        ("How do I find a structure d'insertion near me?", "emploi_insertion"),
        # what is asked for leads what is only described
        (
            "je voudrais retravailler mais j'ai pas le permis et les bus le matin c'est la galère",
            "emploi_insertion",
        ),
        (
            "reconnu travailleur handicapé, je cherche du travail, ya quoi pour moi",
            "emploi_handicap",
        ),
    ],
)
def test_needs_are_heard_by_the_meaning_of_the_words(reader: Reader, text: str, need: str) -> None:
    assert reader.read(text).main_need == need


def test_a_workplace_named_about_oneself_is_context_not_a_request(reader: Reader) -> None:
    frame = reader.read("je bosse déjà en ETTI et je cherche un garage pas cher")
    assert frame.main_need == "mobilite_reparation"
    assert "etti" in frame.context_categories and "etti" not in frame.categories
    salaried = reader.read("Je suis salarié d'un chantier d'insertion et je voudrais le permis")
    assert salaried.main_need == "mobilite_permis"
    assert "aci" not in salaried.categories


def test_someone_with_a_job_asks_first_for_what_lets_them_keep_it(reader: Reader) -> None:
    got_one = reader.read(
        "j'ai décroché un poste dans une entreprise adaptée mais je n'ai pas le permis, "
        "comment y aller tous les jours ?"
    )
    assert got_one.main_need == "mobilite_accompagnement"
    in_iae = reader.read("je suis en CDDI à l'entreprise d'insertion, comment y aller ?")
    assert in_iae.main_need == "mobilite_accompagnement"
    assert "SALARIE_INSERTION" in facts(in_iae)["statuts"]  # type: ignore[operator]


def test_where_one_works_is_the_situation_even_named_again(reader: Reader) -> None:
    frame = reader.read("je suis en CDDI au chantier, après je voudrais une vraie entreprise")
    assert "aci" in frame.context_categories and "aci" not in frame.categories


def test_a_job_sought_is_not_a_job_held(reader: Reader) -> None:
    for text in (
        "je cherche du travail en intérim d'insertion",
        "est-ce que je peux travailler en chantier d'insertion ?",
    ):
        statuts = facts(reader.read(text)).get("statuts", [])
        assert not {"SALARIE", "SALARIE_INSERTION"} & set(statuts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("je travaille plus depuis 2020", "SALARIE"),
        ("je ne suis plus au RSA", "RSA"),
        ("je suis pas au rsa", "RSA"),
    ],
)
def test_a_situation_said_not_to_hold_is_not_kept(reader: Reader, text: str, held: str) -> None:
    assert held not in facts(reader.read(text)).get("statuts", [])  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("en plus je suis au rsa", "RSA"),
        ("je suis demandeur d'emploi pas loin de Nancy", "DEMANDEUR_EMPLOI"),
        ("je travaille pas loin de Toul", "SALARIE"),
        ("depuis fevrier en cddi, je cherche une voiture", "SALARIE_INSERTION"),
    ],
)
def test_plus_and_pas_that_negate_nothing_keep_the_situation(
    reader: Reader, text: str, held: str
) -> None:
    assert held in facts(reader.read(text)).get("statuts", [])  # type: ignore[operator]


def test_a_situation_is_not_asked_for_because_a_request_ends_the_message(reader: Reader) -> None:
    frame = reader.read("ma voiture est en panne, je suis au chomage, je voudrais de l aide")
    assert frame.main_need == "mobilite_reparation"


def test_situation_words_are_facts_not_needs(reader: Reader) -> None:
    frame = reader.read("je suis au RSA, sans voiture")
    assert frame.needs == ()
    assert set(facts(frame)["statuts"]) == {"RSA", "SANS_VEHICULE"}  # type: ignore[arg-type]


def test_acronyms_that_are_words_count_only_in_capitals(reader: Reader) -> None:
    assert reader.read("j'ai une question").categories == ()
    assert "ai" in reader.read("je cherche une AI à Nancy").categories


@pytest.mark.parametrize(
    "text",
    [
        "mon copain m'a mise dehors hier soir, on a dormi dans la voiture avec mon fils",
        "Hi, I've been sleeping in my car in Nevers for two nights, I have nowhere else to go",
        "mon mari me frape depuis des mois, jai peur qu il nous trouve",
        "Mon compagnon m'a encore frappée hier soir, je suis chez une amie",
        "mon conjoint ma encore frapper hier soir devant le petit",
        "jvis dans ma caisse depuis 3 nuit sur le parking, il fait -3 la nuit",
        "jen peux plus, des fois je me dis que ce serait mieux si jetais plus la",
        "l'huissier vient nous expulser demain matin, je ne sais pas où on va dormir",
        "j'en peux plus, des fois je me dis que ce serait mieux si j'étais plus là",
        "أنا وأولادي الثلاثة في الشارع منذ البارحة، لا نجد مكاناً ننام فيه",
    ],
)
def test_an_emergency_in_everyday_words_is_heard(reader: Reader, text: str) -> None:
    assert reader.read(text).urgence


def test_questions_emergencies_and_out_of_scope(reader: Reader) -> None:
    assert reader.read("c'est quoi une CAE").is_question
    assert reader.read("je dors dans la rue").urgence
    assert reader.read("je cherche un logement").out_of_scope == "logement"


def test_codes_and_phone_numbers_also_inside_a_sentence(reader: Reader) -> None:
    assert reader.read("code cd54-nancy").start_payload == "CD54-NANCY"
    assert reader.read("06.12.34.56.78").phone == "06 12 34 56 78"
    assert reader.read("+33 6 12 34 56 78").phone == "06 12 34 56 78"
    assert reader.read("vous pouvez m'appeler au 06 12 34 56 78 le matin").phone == "06 12 34 56 78"
    assert reader.read("j'ai 17 ans").phone is None


def test_languages(reader: Reader) -> None:
    assert reader.read("I am looking for a job").language == "en"
    assert reader.read("je cherche un job").language == "fr"
    arabic = reader.read("أريد أن أتعلم السياقة، هل توجد مدرسة سياقة تضامنية في Montreuil ؟")
    assert arabic.language == "ar"
    assert "سياقه" in arabic.normalised  # Arabic script is kept, not deleted


def test_huge_messages_are_cut_and_flagged(reader: Reader) -> None:
    frame = reader.read("travail " * 10000)
    assert frame.truncated and len(frame.raw) <= 2000


def test_the_state_round_trips_through_json(dialogue: OrientationDialogue) -> None:
    from bot.conversation.state import ConversationState, Facts

    state = ConversationState(
        lang="en",
        facts=Facts("54395", ["RSA"], True, {"age": 24}),
        need="emploi_insertion",
        asked=["situation"],
        choices=[("need:x", "X")],
        followed_by=["mission_locale"],
    )
    again = ConversationState.from_json(state.to_json())
    assert again == state
    old = {"facts": {"commune": "54395", "age": 17, "statuts": ["RSA"]}, "need": "x"}
    assert ConversationState.from_json(old).facts.numbers == {"age": 17}, "version 1 states"
