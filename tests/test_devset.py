"""The development set: first messages as people write them, scored like the probes.

The data tests check that the set is large, varied, well formed and answerable with the shipped
knowledge base; `test_first_message` plays each message (tests/scoring.py) and asserts that the
dialogue gives what issue 7 asks. A failure prints the whole conversation and what was expected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pytest

from bot.kb.knowledge import KnowledgeBase
from bot.places import Commune, Gazetteer, distance_km
from bot.stories import DialogueFactory
from tests.scoring import DEVSET, Entry, dialogue_factory, labels, load_entries, score

ENTRIES = load_entries(DEVSET)
LABELS = labels()
DEPARTEMENTS = ("54", "58", "08", "93", "60", "31")


def by_departement() -> dict[str, list[Entry]]:
    grouped: dict[str, list[Entry]] = defaultdict(list)
    for entry in ENTRIES:
        grouped[entry.persona.departement].append(entry)
    return grouped


def test_the_set_is_large_and_each_message_is_named_once() -> None:
    assert len(ENTRIES) >= 250
    ids = [e.id for e in ENTRIES]
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    texts = [e.text for e in ENTRIES]
    assert len(set(texts)) == len(texts), [t for t in texts if texts.count(t) > 1]


def test_the_first_dev_set_is_kept() -> None:
    kept = [e for e in ENTRIES if e.expected.notes.startswith("(v1")]
    assert len(kept) == 73  # every message of the first dev set (73 entries), notes "(v1…"


def test_every_entry_uses_the_probe_vocabularies() -> None:
    kinds = set(LABELS["structure_kinds"])
    problems: list[str] = []
    for e in ENTRIES:
        x = e.expected
        checks = {
            "styles": set(e.styles) - set(LABELS["styles"]),
            "statuts": set(e.persona.statuts) - set(LABELS["statuts"]),
            "need": {x.need} - set(LABELS["needs"]) - {None},
            "structures": set(x.structures + x.forbidden + x.fallback) - kinds,
            "also_orient_to": set(x.also_orient_to) - set(LABELS["orienteurs"]),
            "eligibility": set(x.eligibility) - kinds - {"iae"},
            "eligibility values": set(x.eligibility.values())
            - {"eligible", "a_verifier", "non_eligible"},
        }
        problems += [
            f"{e.id}: {name} {sorted(map(str, bad))}" for name, bad in checks.items() if bad
        ]
        if not e.styles:
            problems.append(f"{e.id}: no style")
    assert not problems, "\n".join(problems)


def test_every_faq_named_exists_in_the_knowledge_base(knowledge: KnowledgeBase) -> None:
    unknown = [(e.id, f) for e in ENTRIES for f in e.expected.faq if f not in knowledge.faq]
    assert not unknown


def test_every_expectation_is_explained_and_consistent() -> None:
    problems: list[str] = []
    for e in ENTRIES:
        x = e.expected
        if len(x.notes) < 30:
            problems.append(f"{e.id}: notes must say what is tested and why")
        if "max_questions" not in e.raw:
            problems.append(f"{e.id}: max_questions missing")
        if not x.clarify and x.max_questions != 0:
            problems.append(f"{e.id}: max_questions must be 0 when clarify is false")
        if set(x.structures) & set(x.forbidden):
            problems.append(f"{e.id}: a category both expected and forbidden")
        if x.need in ("information", "hors_perimetre", "urgence") and x.structures:
            problems.append(f"{e.id}: {x.need} shows no structure")
        if "non_eligible" in x.eligibility.values() and x.structures and not x.depends_on_kb:
            problems.append(f"{e.id}: a refusal expects alternatives (fallback), not structures")
    assert not problems, "\n".join(problems)


def test_every_persona_lives_in_a_real_commune(gazetteer: Gazetteer) -> None:
    problems: list[str] = []
    for e in ENTRIES:
        p = e.persona
        commune = gazetteer.get(p.code_insee or "")
        if p.departement not in DEPARTEMENTS:
            problems.append(f"{e.id}: département {p.departement} is not deployed")
        if commune is None:
            problems.append(f"{e.id}: unknown INSEE code {p.code_insee}")
            continue
        if commune.name != p.commune:
            problems.append(f"{e.id}: {p.code_insee} is {commune.name}, not {p.commune}")
        if commune.dept != p.departement and "homonyme" not in e.styles:
            problems.append(f"{e.id}: {commune.name} is not in the {p.departement}")
        typed = p.commune_as_typed
        if typed is not None and typed.lower() not in e.text.lower():
            problems.append(f"{e.id}: commune_as_typed '{typed}' is not in the text")
    assert not problems, "\n".join(problems)


def test_each_departement_covers_every_need_category_and_language() -> None:
    problems: list[str] = []
    for dept in DEPARTEMENTS:
        entries = by_departement()[dept]
        needs = {e.expected.need for e in entries}
        categories = {c for e in entries for c in e.expected.structures}
        styles = {s for e in entries for s in e.styles}
        missing = {
            "needs": set(LABELS["needs"]) - needs,
            "categories": set(LABELS["structure_kinds"]) - categories,
            "styles": {"anglais", "arabe_francais", "conseiller", "sms", "multi_besoins"} - styles
            if dept == "54"
            else {"anglais", "arabe_francais", "conseiller"} - styles,
        }
        problems += [f"{dept}: no {what} {sorted(m)}" for what, m in missing.items() if m]
        if len(entries) < 35:
            problems.append(f"{dept}: only {len(entries)} messages")
    assert not problems, "\n".join(problems)


def test_the_behaviours_of_issue_7_are_all_represented() -> None:
    def count(predicate: Any) -> int:
        return sum(1 for e in ENTRIES if predicate(e))

    behaviours = {
        "question + need + place": count(lambda e: e.expected.faq and e.expected.structures),
        "pure definition questions": count(lambda e: e.expected.need == "information"),
        "TZCLD refusals": count(
            lambda e: e.expected.eligibility.get("ebe_tzcld") == "non_eligible"
        ),
        "CJS refusals": count(lambda e: e.expected.eligibility.get("cjs") == "non_eligible"),
        "emergencies": count(lambda e: e.expected.need == "urgence"),
        "out of scope": count(lambda e: e.expected.need == "hors_perimetre"),
        "thanks": count(lambda e: e.expected.need is None),
        "after /start": count(lambda e: e.after_start),
        "homonyms": count(lambda e: "homonyme" in e.styles),
        "communes déléguées": count(lambda e: "commune_deleguee" in e.styles),
        "counsellors": count(lambda e: "conseiller" in e.styles),
        "Arabic script": count(lambda e: any("\u0600" <= ch <= "\u06ff" for ch in e.text)),
        "arabizi": count(
            lambda e: (
                "arabe_francais" in e.styles
                and not any("\u0600" <= ch <= "\u06ff" for ch in e.text)
            )
        ),
        "English": count(lambda e: "anglais" in e.styles),
        "a question allowed": count(lambda e: e.expected.max_questions > 0),
    }
    thin = {name: n for name, n in behaviours.items() if n < 5}
    assert not thin, thin


def _commune(gazetteer: Gazetteer, entry: Entry) -> Commune:
    commune = gazetteer.get(entry.persona.code_insee or "")
    assert commune is not None
    return commune


def _reachable(kb: KnowledgeBase, commune: Commune, categories: Iterable[str]) -> bool:
    """A shipped service of one of these categories within the maximum radius, or in its zone."""
    meta = kb.metas.get(commune.dept)
    radius = meta.recherche.rayon_max_km if meta is not None else 50.0
    wanted = set(categories)
    for service in kb.services:
        if service.categorie not in wanted:
            continue
        if service.zones:
            zones = [kb.zones[z] for z in service.zones if z in kb.zones]
            if any(commune.insee in z.codes or commune.epci in z.codes for z in zones):
                return True
            continue
        zone = set(service.zone_eligibilite)
        if zone and not zone & {commune.dept, commune.insee, commune.epci or "", "france"}:
            continue
        if "a-distance" in service.modes_accueil and "en-presentiel" not in service.modes_accueil:
            return True
        structure = kb.structures.get(service.structure_id)
        lat = service.latitude if service.latitude is not None else structure.latitude
        lon = service.longitude if service.longitude is not None else structure.longitude
        if None in (lat, lon, commune.lat, commune.lon):
            continue
        if distance_km(commune.lat, commune.lon, lat, lon) <= radius:  # type: ignore[arg-type]
            return True
    return False


def test_the_expected_structures_exist_near_each_persona(
    knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    """Expectations the shipped knowledge base can meet (else the entry says depends_on_kb)."""
    unreachable = [
        e.id
        for e in ENTRIES
        if e.expected.structures
        and not e.expected.depends_on_kb
        and not _reachable(knowledge, _commune(gazetteer, e), e.expected.structures)
    ]
    assert not unreachable


@pytest.fixture(scope="module")
def dialogues(knowledge: KnowledgeBase, gazetteer: Gazetteer) -> DialogueFactory:
    return dialogue_factory(knowledge, gazetteer)


@pytest.mark.expectations
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_first_message(entry: Entry, dialogues: DialogueFactory) -> None:
    outcome = score(entry, dialogues)
    assert outcome.passed, "\n" + outcome.report()
