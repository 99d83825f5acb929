"""The normaliser and the fact extractor, on the shipped lexicon."""

from __future__ import annotations

import pytest

from bot.dialogue import OrientationDialogue
from bot.understanding import Understanding


@pytest.fixture(scope="module")
def understanding(dialogue: OrientationDialogue) -> Understanding:
    return dialogue.understanding


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
    understanding: Understanding, written: str, normalised: str
) -> None:
    assert understanding.normalise(written) == normalised


def test_every_fact_of_one_message_is_extracted(understanding: Understanding) -> None:
    heard = understanding.read("je suis au RSA à Nancy et je cherche un chantier d'insertion")
    assert heard.statuts == ["RSA"]
    assert heard.categories == ["aci"]
    assert heard.needs[0].id == "emploi_insertion"
    assert heard.place is not None and heard.place.candidates[0].commune.insee == "54395"
    assert not heard.is_question


@pytest.mark.parametrize(
    ("text", "age"),
    [("j'ai 17 ans", 17), ("jai 17ans", 17), ("j'ai dix-sept ans virgule", 17),
     ("I am 20 years old", 20), ("au chômage depuis 2 ans", None)],
)  # fmt: skip
def test_age_is_read_but_not_confused_with_a_duration(
    understanding: Understanding, text: str, age: int | None
) -> None:
    assert understanding.read(text).age == age


def test_durations_are_read_in_months(understanding: Understanding) -> None:
    assert understanding.read("depuis 2 ans").durations_months == [24]
    assert understanding.read("8 mois").durations_months == [8]
    assert understanding.read("un an").durations_months == [12]


def test_acronyms_that_are_words_count_only_in_capitals(understanding: Understanding) -> None:
    assert understanding.read("j'ai une question").categories == []
    assert "ai" in understanding.read("je cherche une AI à Nancy").categories


def test_questions_emergencies_and_out_of_scope(understanding: Understanding) -> None:
    assert understanding.read("c'est quoi une CAE").is_question
    assert understanding.read("je dors dans la rue").urgence
    assert understanding.read("je cherche un logement").hors_perimetre == "logement"


def test_codes_and_phone_numbers(understanding: Understanding) -> None:
    assert understanding.read("code cd54-nancy").code == "CD54-NANCY"
    assert understanding.read("06.12.34.56.78").phone == "06 12 34 56 78"
    assert understanding.read("+33 6 12 34 56 78").phone == "06 12 34 56 78"
    assert understanding.read("j'ai 17 ans").phone is None


def test_english_is_recognised(understanding: Understanding) -> None:
    assert understanding.read("I am looking for a job").english
    assert not understanding.read("je cherche un job").english


def test_huge_messages_are_cut_and_flagged(understanding: Understanding) -> None:
    heard = understanding.read("travail " * 10000)
    assert heard.truncated and len(heard.raw) <= 2000
