"""The story runner behind `aiguillage test`: located errors, plays, expected/actual diffs."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import DEFAULT_KNOWLEDGE, DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dialogue, StepResult
from bot.kb.knowledge import KnowledgeBase
from bot.messages import Choice, Incoming
from bot.places import Gazetteer
from bot.stories import (
    ACTIONS,
    CHECK_KEYS,
    DialogueFactory,
    Session,
    Vocabulary,
    format_result,
    parse_stories,
    resolve_choice,
    run_story,
    summary,
)
from tests.scoring import dialogue_factory

GOOD = """\
histoires:
  - id: garage-lune
    titre: "Un garage à Lunéville"
    departement: "54"
    tours:
      - dit: "jcherche un garage solidair a luneville"
        attendu:
          besoin: mobilite_reparation
          demande: null
          propose: [garage_solidaire]
          contient: ["Lunéville"]
"""


@pytest.fixture(scope="module")
def dialogues(knowledge: KnowledgeBase, gazetteer: Gazetteer) -> DialogueFactory:
    return dialogue_factory(knowledge, gazetteer)


def test_every_mistake_of_a_story_file_is_located_in_french() -> None:
    text = """\
histoires:
  - id: un
    departement: "54"
    tours:
      - dit: "je cherche un garage"
        atendu: {besoin: mobilite_reparation}
      - dit: "Nancy"
        choisit: "2"
      - position: {lat: 123, lon: 6}
      - dit: "x"
        attendu:
          propose: [garrage_solidaire]
          eligibilite: {aci: oui}
          demande: comune
  - id: un
    tours: []
"""
    stories, problems = parse_stories(text, "histoires/54.yaml")
    assert stories == []
    messages = [str(p) for p in problems]
    assert messages[0].startswith(
        "histoires/54.yaml:6:9: clé inconnue « atendu » — vouliez-vous dire « attendu » ?"
    )
    assert messages[1].startswith("histoires/54.yaml:7:9: plusieurs actions (dit, choisit)")
    assert messages[2] == "histoires/54.yaml:9:19: « position » s'écrit {lat: 48.69, lon: 6.18}"
    assert any(
        m.startswith("histoires/54.yaml:12:21: catégorie inconnue « garrage_solidaire »")
        and "« garage_solidaire »" in m
        for m in messages
    )
    assert messages[4] == "histoires/54.yaml:13:30: résultat inconnu « oui »"
    assert (
        "histoires/54.yaml:14:20: fait demandé inconnu « comune » — vouliez-vous dire « commune » ?"
        in messages
    )
    assert messages[-1].startswith("histoires/54.yaml:16:12: « tours » doit être une liste")


def test_malformed_yaml_and_a_missing_list_are_explained() -> None:
    _, problems = parse_stories('histoires:\n  - id: "x\n', "a.yaml")
    assert problems and problems[0].file == "a.yaml" and "YAML mal formé" in problems[0].message
    _, problems = parse_stories("tours: []\n", "b.yaml")
    assert "« histoires: »" in problems[0].message


def test_duplicate_ids_and_unknown_faq_are_refused() -> None:
    text = GOOD + GOOD.split("histoires:\n", 1)[1].replace(
        "attendu:", "attendu:\n          faq: [faq_inconnue]"
    )
    stories, problems = parse_stories(text, "c.yaml", Vocabulary(faq=frozenset({"faq_pass_iae"})))
    assert len(stories) == 1
    assert any("FAQ inconnue « faq_inconnue »" in p.message for p in problems)


def test_a_story_is_played_and_passes(dialogues: DialogueFactory) -> None:
    stories, problems = parse_stories(GOOD, "good.yaml")
    assert not problems
    result = run_story(stories[0], dialogues)
    assert result.passed
    assert format_result(result).startswith("✓ garage-lune — Un garage à Lunéville (good.yaml:2)")
    assert summary([result]).startswith("1 histoire(s) : 1 réussie(s), 0 échouée(s).")


def test_a_failing_turn_shows_what_was_expected_what_came_and_what_the_bot_said(
    dialogues: DialogueFactory,
) -> None:
    text = GOOD.replace("propose: [garage_solidaire]", "propose: [cjs]").replace(
        'contient: ["Lunéville"]', 'ne_contient_pas: ["Lunéville"]'
    )
    stories, _ = parse_stories(text, "bad.yaml")
    result = run_story(stories[0], dialogues)
    assert not result.passed
    report = format_result(result)
    assert "✗ garage-lune" in report
    assert "tour 1 (ligne 6) : dit « jcherche un garage solidair a luneville » ✗" in report
    assert "propose          attendu : [cjs]" in report
    assert "obtenu  : [garage_solidaire" in report
    assert "ne contient pas  attendu : aucun de « Lunéville »" in report
    assert "    | " in report  # the bot's own words follow


def test_words_are_matched_whole_ignoring_case_and_accents(dialogues: DialogueFactory) -> None:
    text = GOOD.replace(
        'contient: ["Lunéville"]', 'contient: ["LUNEVILLE"]\n          ne_contient_pas: ["ersa"]'
    )
    stories, _ = parse_stories(text, "w.yaml")
    assert run_story(stories[0], dialogues).passed  # "ersa" is not found inside "conversation"


def test_choices_are_named_by_number_label_part_of_label_or_id() -> None:
    offered = [
        Choice("commune:93066", "Saint-Denis (93)"),
        Choice("commune:11339", "Saint-Denis (11)"),
        Choice("more", "Voir d'autres"),
    ]
    last = offered[:2]
    assert resolve_choice("2", offered, last) == offered[1]
    assert resolve_choice("3", offered, last) is None  # numbers refer to the last list
    assert resolve_choice("more", offered, last) == offered[2]
    assert resolve_choice("voir d'autres", offered, last) == offered[2]
    assert resolve_choice("(93)", offered, last) == offered[0]
    assert resolve_choice("Saint-Denis", offered, last) is None  # two labels contain it


def test_a_choice_not_offered_stops_the_story_and_lists_the_choices(
    dialogues: DialogueFactory,
) -> None:
    text = GOOD + '      - choisit: "Je n\'existe pas"\n      - dit: "merci"\n'
    stories, _ = parse_stories(text, "c.yaml")
    result = run_story(stories[0], dialogues)
    assert not result.passed and len(result.turns) == 2
    failure = result.turns[1].failures[0]
    assert failure.key == "choisit" and "choix proposés : 1. " in failure.actual


class _Breaks:
    """The real dialogue, with a fault injected in `step` for one kind of message."""

    def __init__(self, real: OrientationDialogue) -> None:
        self.real = real

    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        if incoming.text == "panne":
            raise RuntimeError("boom")
        return self.real.step(state, incoming)

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Any:
        return self.real.personal_data_reply(data, state)

    def failure_reply(self, state: dict[str, Any] | None) -> Any:
        return self.real.failure_reply(state)


def test_a_crash_is_a_failure_with_the_apology_and_the_conversation_goes_on(
    knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    real = OrientationDialogue(knowledge, gazetteer, DialogueSettings(), "54")
    text = """\
histoires:
  - id: crash
    tours:
      - dit: "jcherche un garage solidair a luneville"
      - dit: "panne"
      - dit: "/mes_donnees"
        attendu:
          contient: ["Lunéville"]
"""
    stories, _ = parse_stories(text, "crash.yaml")

    def factory(departement: str, today: dt.date | None) -> Dialogue:
        return _Breaks(real)

    result = run_story(stories[0], factory)
    crashed = result.turns[1]
    assert crashed.failures[0].key == "erreur"
    assert "RuntimeError (test_story_runner.py:" in crashed.failures[0].actual
    assert crashed.turn is not None and "Désolé" in crashed.turn.replies[0].text
    assert result.turns[2].passed  # the state survived the crash


def test_the_session_gives_mes_donnees_what_the_store_would_hold(
    knowledge: KnowledgeBase, gazetteer: Gazetteer
) -> None:
    session = Session(OrientationDialogue(knowledge, gazetteer, DialogueSettings(), "54"))
    for what in ({"text": "/conseiller"}, {"choice": "cb:ask"}, {"choice": "cb:yes"},
                 {"text": "06 12 34 56 78"}):  # fmt: skip
        session.send(session.next_incoming(**what))
    assert session.callbacks == [{"telephone": "06 12 34 56 78", "moment": None,
                                  "statut": "nouveau"}]  # fmt: skip
    shown = session.send(session.next_incoming(text="/mes_donnees"))
    assert "06 12 34 56 78" in shown.replies[0].text
    session.send(session.next_incoming(text="/oubli"))
    assert session.state is None and session.callbacks == []


def test_aiguillage_test_plays_the_shipped_stories(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test"]) == 0
    out = capsys.readouterr().out
    assert "histoire(s)" in out and "0 échouée(s)" in out and "knowledge/histoires/54.yaml" in out


def test_aiguillage_test_exits_1_with_a_diff_or_located_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = tmp_path / "echec.yaml"
    failing.write_text(GOOD.replace("[garage_solidaire]", "[cae]"), encoding="utf-8")
    assert main(["test", str(failing)]) == 1
    out = capsys.readouterr().out
    assert "✗ garage-lune" in out and "attendu : [cae]" in out
    broken = tmp_path / "casse.yaml"
    broken.write_text(GOOD.replace("dit:", "dis:"), encoding="utf-8")
    assert main(["test", str(broken), str(tmp_path / "absent.yaml")]) == 1
    out = capsys.readouterr().out
    assert "casse.yaml:6:9: clé inconnue « dis » — vouliez-vous dire « dit » ?" in out
    assert "absent.yaml:1:1: fichier introuvable" in out


def test_aiguillage_test_reads_folders_and_keeps_one_departement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    other = GOOD.replace("garage-lune", "garage-nevers").replace('"54"', '"58"')
    other = other.replace("luneville", "nevers").replace("Lunéville", "Nevers")
    (tmp_path / "b.yaml").write_text(other, encoding="utf-8")
    assert main(["test", "--departement", "58", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "✓ garage-nevers" in out and "garage-lune" not in out
    assert "1 histoire(s) : 1 réussie(s)" in out


def test_aiguillage_test_plays_the_stories_of_the_knowledge_base_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, knowledge, ignore=shutil.ignore_patterns("histoires"))
    (knowledge / "histoires").mkdir()
    (knowledge / "histoires" / "54.yaml").write_text(GOOD, encoding="utf-8")
    assert main(["test", "--knowledge", str(knowledge)]) == 0
    out = capsys.readouterr().out
    assert "✓ garage-lune" in out and "1 histoire(s) : 1 réussie(s)" in out
    (knowledge / "histoires" / "54.yaml").unlink()
    assert main(["test", "--knowledge", str(knowledge)]) == 1
    assert "Aucune histoire à jouer" in capsys.readouterr().out


def test_the_example_of_knowledge_readme_is_a_valid_story_file() -> None:
    readme = (DEFAULT_KNOWLEDGE / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Écrire une histoire", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    stories, problems = parse_stories(example, "README.md")
    assert not problems and len(stories) == 1 and len(stories[0].tours) == 2
    for word in (*ACTIONS, *CHECK_KEYS):
        assert f"`{word}" in section, f"knowledge/README.md does not explain « {word} »"
