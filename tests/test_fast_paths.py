"""The shortcuts taken for speed give what the plain computation gives.

Each shortcut of issue 9 (bench/bench_dialogue.py measures them, and compares every reply of
the dev set, the probes and the stories with those of an earlier commit) rests on a claim that
a test can check directly: a phrase index that skips a message none of its phrases can start
in, FAQ scores that stop early below their thresholds, a phone matcher skipped when too few
digits are written, a distance computed with the person's half once, places further north or
south than the radius never measured, searches and verdicts shared.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import phonenumbers
import pytest
import yaml
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODES_FOR_NON_GEO_REGIONS, SUPPORTED_REGIONS
from rapidfuzz import fuzz

from bot.config import DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.conversation.faq_match import SUBSET_MIN, SUBSET_PENALTY, WHOLE_MIN
from bot.conversation.lexicon import Hit, PhraseIndex, Words
from bot.conversation.reader import MIN_PHONE_DIGITS, Reader, _phone
from bot.kb.knowledge import KnowledgeBase
from bot.messages import Incoming
from bot.places import Gazetteer, distance_km
from bot.ranking import ZONE_ONLY_CATEGORIES, person_keys

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def reader(dialogue: OrientationDialogue) -> Reader:
    return dialogue.services.reader


@pytest.fixture(scope="module")
def messages(reader: Reader) -> list[str]:
    """Every first message of the dev set and the probes, and the messages without a commune."""
    texts = [
        entry["text"]
        for name in ("devset.yaml", "probes.yaml")
        for entry in yaml.safe_load((DATA / name).read_text(encoding="utf-8"))["messages"]
    ]
    lines = (DATA / "phrases_sans_commune.txt").read_text(encoding="utf-8").splitlines()
    return texts + [line for line in lines if line.strip()]


# --- phrase indexes -----------------------------------------------------------------------------


def _every_position(index: PhraseIndex, words: Words) -> list[Hit]:
    """The leftmost-longest hits, every word tried with every phrase length."""
    stems = words.stems
    found: list[Hit] = []
    i = 0
    while i < len(stems):
        size = index._match_at(stems, i, len(stems))
        if size:
            owners = index._exact.get(stems[i : i + size], ()) or index._prefix_owners(
                stems, i, size
            )
            found += [Hit(owner, i, i + size) for owner in owners]
            i += size
        else:
            i += 1
    return found


def test_a_phrase_index_finds_what_trying_every_word_finds(
    reader: Reader, messages: list[str]
) -> None:
    indexes = [
        reader._named,
        reader._urgence,
        reader._out_of_scope,
        reader._requests,
        reader._about_results,
        reader._contexts,
        *reader._cues,
        reader._faq._keywords,
        reader._social._words,
    ]
    compared = 0
    for text in messages:
        words = Words.of(reader.normalise(text))
        for index in indexes:
            assert index.hits(words) == _every_position(index, words), text
            compared += bool(_every_position(index, words))
    assert compared > 500  # the messages do hit phrases: the comparison means something


# --- FAQ scores ---------------------------------------------------------------------------------


def test_faq_scores_with_thresholds_are_the_scores_above_them(
    reader: Reader, messages: list[str]
) -> None:
    matcher = reader._faq
    phrasings = matcher._texts
    queries = [reader.normalise(m) for m in messages[::3]] + phrasings[::5]
    for query in queries:
        in_order = " ".join(sorted(query.split()))
        for text, sorted_text in zip(phrasings, matcher._sorted, strict=True):
            whole = fuzz.token_sort_ratio(query, text)
            assert fuzz.ratio(in_order, sorted_text, score_cutoff=WHOLE_MIN) == (
                whole if whole >= WHOLE_MIN else 0
            )
            subset = fuzz.token_set_ratio(query, text)
            cutoff = SUBSET_MIN + SUBSET_PENALTY
            assert fuzz.token_set_ratio(query, text, score_cutoff=cutoff) == (
                subset if subset - SUBSET_PENALTY >= SUBSET_MIN else 0
            )


# --- phone numbers --------------------------------------------------------------------------------


def test_no_phone_number_of_any_country_has_fewer_digits_than_the_reader_requires() -> None:
    shortest = min(
        len(str(metadata.country_code)) + min(metadata.general_desc.possible_length)
        for metadata in [
            *(PhoneMetadata.metadata_for_region(r) for r in SUPPORTED_REGIONS),
            *(
                PhoneMetadata.metadata_for_nongeo_region(c)
                for c in COUNTRY_CODES_FOR_NON_GEO_REGIONS
            ),
        ]
        if metadata is not None and metadata.general_desc.possible_length
    )
    assert shortest >= MIN_PHONE_DIGITS


@pytest.mark.parametrize(
    "text",
    [
        "rappelez moi au 06 12 34 56 78",
        "mon numéro : +33 6 12 34 56 78",
        "0383123456",
        "appelez le ٠٦١٢٣٤٥٦٧٨",  # Arabic-Indic digits count as digits
        "j'ai 17 ans, 54000 Nancy",
    ],
)
def test_the_phone_shortcut_finds_what_the_matcher_finds(text: str) -> None:
    plain = next(
        (
            phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.NATIONAL)
            for m in phonenumbers.PhoneNumberMatcher(text, "FR")
            if phonenumbers.is_valid_number(m.number)
        ),
        None,
    )
    assert _phone(text) == plain


# --- distances and searches -----------------------------------------------------------------------


def test_distances_are_the_haversine_and_no_place_within_the_radius_is_missed(
    dialogue: OrientationDialogue, gazetteer: Gazetteer
) -> None:
    orientation = dialogue.services.orientation
    index = orientation.services
    categories = sorted(orientation.kb.categories)
    places = list(index.by_key.values())
    towns = ["54395", "58194", "08105", "93066", "60057", "31555", "54329", "75056"]
    for insee in towns:
        commune = gazetteer.get(insee)
        assert commune is not None and commune.lat is not None and commune.lon is not None
        keys = person_keys(commune)
        for km in (5.0, 30.0, 80.0, 300.0):
            found = index._within(categories, commune, keys, km)
            got = {(p.place.key, p.place.categorie): p for p in found}
            for place in places:
                if place.lat is None or place.lon is None or place.remote:
                    continue
                in_zone = bool(place.zone_keys & keys)
                if place.zone_keys and not in_zone:
                    continue
                exact = distance_km(commune.lat, commune.lon, place.lat, place.lon)
                wanted = in_zone if place.categorie in ZONE_ONLY_CATEGORIES else exact <= km
                proposal = got.get((place.key, place.categorie))
                if wanted:  # the first of a structure and category is kept
                    same = [
                        p
                        for p in found
                        if (p.place.structure.id, p.place.categorie)
                        == (place.structure.id, place.categorie)
                    ]
                    assert same, (insee, km, place.key)
                if proposal is not None:
                    assert wanted, (insee, km, place.key)
                    assert proposal.distance_km == round(exact, 1)


def test_a_search_is_kept_and_given_again(
    dialogue: OrientationDialogue, gazetteer: Gazetteer
) -> None:
    orientation = dialogue.services.orientation
    nancy = gazetteer.get("54395")
    assert nancy is not None
    first = orientation.search(["aci", "ei"], nancy)
    again = orientation.search(("aci", "ei"), nancy)
    other = orientation.search(["ei", "aci"], nancy)
    assert again is first  # the same result, not computed again
    assert other is not first and {p.place.key for p in other.proposals} == {
        p.place.key for p in first.proposals
    }


# --- what is kept is freed with its owner ---------------------------------------------------------


def test_a_dialogue_replaced_by_a_reload_is_freed_at_once(
    knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    """No reference cycle and no class-level cache holds a dialogue: after a reload (which
    freezes what exists into the GC's permanent generation), the old one and its indexes go as
    soon as nothing uses them, without a collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        dialogue = OrientationDialogue(knowledge, gazetteer, DialogueSettings(), "54")
        state = None
        for text in ("bonjour", "je cherche du travail à Nancy", "je suis au RSA", "2", "merci"):
            state = dialogue.step(state, Incoming("test", "u", text, text=text)).state
        orientation = dialogue.services.orientation
        assert len(orientation._nearest_referents) and len(orientation.services._searches)
        owners = [dialogue, dialogue.services.reader, orientation, orientation.services]
        refs = [weakref.ref(owner) for owner in owners]
        del dialogue, orientation, owners
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        if was_enabled:
            gc.enable()
