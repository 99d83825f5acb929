"""Conversation stories: what a person does, turn by turn, and what the bot must answer.

A story file is YAML with French keys, so that admins can write their own (`aiguillage test`,
`knowledge/histoires/`, `knowledge/README.md`):

```yaml
histoires:
  - id: 54-rsa-luneville
    titre: "Une personne au RSA cherche du travail, donne sa commune ensuite"
    departement: "54"
    date: 2026-11-26                  # facultatif : la date du jour pour le bot
    tours:
      - dit: "je cherche du boulot"
        attendu:
          besoin: emploi_insertion
          demande: commune            # ce que le bot demande ; null = il ne demande rien
      - dit: "j'habite à Lunéville, je suis au RSA"
        attendu:
          propose: [aci, ei, ai, etti, eiti]
          contient: ["Lunéville"]
```

Each turn does one thing: `dit` (a text, commands included), `choisit` (a button of the last
answer: its number, its label, a part of its label found in no other, or its id), `position`
({lat, lon}) or `lien` (a counsellor's code or deep-link payload). Every key of `attendu` is
optional; only the keys given are checked:

- `besoin`: the need in the trace; `demande`: the fact asked (`null`: asks nothing; a list:
  one of these);
- `propose`: at least one structure shown, all of these categories (`[]`: none shown);
  `ne_propose_pas`: none of these categories;
- `faq`: the trace's FAQ has one of these ids;
- `eligibilite`: `{categorie: eligible | a_verifier | non_eligible}`; the key `iae` stands for
  every IAE category in the trace (at least one must be there);
- `contient` / `ne_contient_pas`: words looked for, whole (case and accents ignored), in what
  the person reads: the answers and their buttons.

This module is pure: it parses (every problem located at `file:line:col`, in French), runs a
story against a dialogue factory, in memory, the way the dispatcher would, and describes each
failure as expected versus actual.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.dispatcher import Dialogue, StepResult
from bot.kb.knowledge import Problem
from bot.kb.vocab import (
    ASKABLE_FACTS,
    CATEGORIES,
    ELIGIBILITY_RESULTS,
    FAQ_TOPICS,
    IAE_CATEGORIES,
    NEEDS,
)
from bot.kb.yamlpos import YamlDocument, load_yaml
from bot.messages import Choice, Incoming, Location, Turn
from bot.text import did_you_mean, fold

DialogueFactory = Callable[[str, dt.date | None], Dialogue]
"""Builds the dialogue of a département (`"54"`) with an optional date for 'today'."""

ActionKind = Literal["dit", "choisit", "position", "lien"]
ACTIONS: tuple[ActionKind, ...] = ("dit", "choisit", "position", "lien")
CHECK_KEYS = (
    "besoin",
    "demande",
    "propose",
    "ne_propose_pas",
    "faq",
    "eligibilite",
    "contient",
    "ne_contient_pas",
)
STORY_KEYS = ("id", "titre", "departement", "date", "tours")
TURN_KEYS = (*ACTIONS, "attendu")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The ids a story may name; `faq` comes from the knowledge base when one is at hand."""

    needs: frozenset[str] = frozenset(NEEDS)
    categories: frozenset[str] = frozenset(CATEGORIES)
    facts: frozenset[str] = frozenset(ASKABLE_FACTS)
    faq: frozenset[str] = frozenset(FAQ_TOPICS)


# --- the parsed story ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    value: str | Location

    def describe(self) -> str:
        if isinstance(self.value, Location):
            return f"position {self.value.lat}, {self.value.lon}"
        if self.kind == "dit":
            return f"dit « {self.value} »"
        return f"{self.kind} « {self.value} »"


@dataclass(frozen=True, slots=True)
class Check:
    """One expectation of a turn: `test` returns None when it holds, else what was seen."""

    key: str
    expected: str
    test: Callable[[Turn], str | None]


@dataclass(frozen=True, slots=True)
class StoryTurn:
    action: Action
    checks: tuple[Check, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Story:
    id: str
    titre: str
    departement: str | None
    date: dt.date | None
    tours: tuple[StoryTurn, ...]
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


class StoryError(Exception):
    """A story file cannot be used; `problems` says where and why, in French."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- parsing ------------------------------------------------------------------------------------


def load_stories(
    path: Path, vocabulary: Vocabulary | None = None, display: str | None = None
) -> list[Story]:
    """The stories of one file; raises StoryError listing every problem found."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise StoryError([Problem(name, 1, 1, "fichier introuvable")]) from exc
    except IsADirectoryError as exc:
        raise StoryError([Problem(name, 1, 1, "c'est un dossier, pas un fichier")]) from exc
    except OSError as exc:
        raise StoryError([Problem(name, 1, 1, f"fichier illisible ({exc.strerror})")]) from exc
    except UnicodeDecodeError as exc:
        raise StoryError([Problem(name, 1, 1, "le fichier doit être en UTF-8")]) from exc
    stories, problems = parse_stories(text, name, vocabulary)
    if problems:
        raise StoryError(problems)
    return stories


def parse_stories(
    text: str, file: str, vocabulary: Vocabulary | None = None
) -> tuple[list[Story], list[Problem]]:
    """Parse a story file's text. Stories with problems are left out of the list."""
    document, problems = load_yaml(text, file)
    if document is None:
        return [], problems
    parser = _Parser(document, vocabulary or Vocabulary())
    stories = parser.stories()
    return stories, sorted(problems + parser.problems, key=lambda p: (p.line, p.column))


class _Parser:
    def __init__(self, document: YamlDocument, vocabulary: Vocabulary) -> None:
        self.doc = document
        self.vocab = vocabulary
        self.problems: list[Problem] = []

    def fail(self, path: Sequence[str | int], message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    def stories(self) -> list[Story]:
        data = self.doc.data
        if not isinstance(data, dict) or "histoires" not in data:
            self.fail((), "le fichier doit commencer par « histoires: » suivi d'une liste")
            return []
        self.unknown_keys(data, (), ("histoires",))
        items = data["histoires"]
        if not isinstance(items, list) or not items:
            self.fail(("histoires",), "« histoires » doit être une liste d'histoires (« - id: … »)")
            return []
        seen: dict[str, int] = {}
        stories: list[Story] = []
        for index, item in enumerate(items):
            story = self.story(item, ("histoires", index))
            if story is None:
                continue
            if story.id in seen:
                self.fail(
                    ("histoires", index, "id"),
                    f"id en double « {story.id} » (déjà ligne {seen[story.id]})",
                )
                continue
            seen[story.id] = story.line
            stories.append(story)
        return stories

    def story(self, item: Any, path: tuple[str | int, ...]) -> Story | None:
        if not isinstance(item, dict):
            self.fail(path, "une histoire est un dictionnaire (id, titre, tours…)")
            return None
        before = len(self.problems)
        self.unknown_keys(item, path, STORY_KEYS)
        story_id = self.text(item, (*path, "id"), required=True)
        titre = self.text(item, (*path, "titre"), required=False) or ""
        departement = self.departement(item.get("departement"), (*path, "departement"))
        date = item.get("date")
        if date is not None and not isinstance(date, dt.date):
            self.fail((*path, "date"), "« date » doit être une date AAAA-MM-JJ, ex. 2026-11-26")
            date = None
        tours_raw = item.get("tours")
        turns: list[StoryTurn] = []
        if not isinstance(tours_raw, list) or not tours_raw:
            where = (*path, "tours") if "tours" in item else path
            self.fail(where, "« tours » doit être une liste de tours (« - dit: … »)")
        else:
            for index, raw in enumerate(tours_raw):
                turn = self.turn(raw, (*path, "tours", index))
                if turn is not None:
                    turns.append(turn)
        if len(self.problems) > before or story_id is None:
            return None
        line, _ = self.doc.position(path)
        return Story(story_id, titre, departement, date, tuple(turns), self.doc.file, line)

    def departement(self, value: Any, path: tuple[str | int, ...]) -> str | None:
        if value is None:
            return None
        code = str(value).strip().upper()
        if isinstance(value, int) and not isinstance(value, bool):
            code = f"{value:02d}"
        if not (code.isdigit() and len(code) in (2, 3)) and code not in ("2A", "2B"):
            self.fail(path, f'département « {value} » : écrivez son numéro, ex. "54"')
            return None
        return code

    def turn(self, raw: Any, path: tuple[str | int, ...]) -> StoryTurn | None:
        if not isinstance(raw, dict):
            self.fail(path, "un tour est un dictionnaire : « - dit: … » puis « attendu: »")
            return None
        self.unknown_keys(raw, path, TURN_KEYS)
        given = [k for k in ACTIONS if k in raw]
        if len(given) != 1:
            what = "aucune action" if not given else "plusieurs actions (" + ", ".join(given) + ")"
            self.fail(path, f"{what} : un tour fait une seule chose (dit, choisit, position, lien)")
            return None
        action = self.action(given[0], raw[given[0]], (*path, given[0]))
        expected = raw.get("attendu", {})
        if expected is None:
            expected = {}
        if not isinstance(expected, dict):
            self.fail((*path, "attendu"), "« attendu » est un dictionnaire (besoin, propose…)")
            return None
        checks = self.checks(expected, (*path, "attendu"))
        if action is None or checks is None:
            return None
        line, _ = self.doc.position(path)
        return StoryTurn(action, tuple(checks), line)

    def action(self, kind: ActionKind, value: Any, path: tuple[str | int, ...]) -> Action | None:
        if kind == "position":
            if (
                isinstance(value, dict)
                and _is_number(value.get("lat"))
                and _is_number(value.get("lon"))
            ):
                lat, lon = float(value["lat"]), float(value["lon"])
                if -90 <= lat <= 90 and -180 <= lon <= 180:
                    return Action(kind, Location(lat, lon))
            self.fail(path, "« position » s'écrit {lat: 48.69, lon: 6.18}")
            return None
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            self.fail(path, f"« {kind} » attend un texte")
            return None
        text = str(value)
        if not text.strip() and kind != "dit":
            self.fail(path, f"« {kind} » est vide")
            return None
        return Action(kind, text)

    def checks(self, expected: dict[str, Any], path: tuple[str | int, ...]) -> list[Check] | None:
        before = len(self.problems)
        self.unknown_keys(expected, path, CHECK_KEYS)
        checks: list[Check] = []
        for key in CHECK_KEYS:
            if key not in expected:
                continue
            check = self.check(key, expected[key], (*path, key))
            if check is not None:
                checks.append(check)
        return checks if len(self.problems) == before else None

    def check(self, key: str, value: Any, path: tuple[str | int, ...]) -> Check | None:
        if key == "besoin":
            need = self.word(value, path, self.vocab.needs, "besoin inconnu", nullable=True)
            return None if need is False else _need_check(need)
        if key == "demande":
            if isinstance(value, list):
                facts = self.words(value, path, self.vocab.facts, "fait demandé inconnu")
                return None if not facts else _asking_check(*facts)
            fact = self.word(value, path, self.vocab.facts, "fait demandé inconnu", nullable=True)
            return None if fact is False else _asking_check(fact)
        if key in ("propose", "ne_propose_pas"):
            cats = self.words(value, path, self.vocab.categories, "catégorie inconnue")
            if cats is None:
                return None
            return _proposes_check(cats) if key == "propose" else _avoids_check(cats)
        if key == "faq":
            ids = self.words(value, path, self.vocab.faq, "FAQ inconnue")
            if not ids:
                if ids is not None:
                    self.fail(path, "« faq » : donnez au moins un identifiant, ex. [faq_pass_iae]")
                return None
            return _faq_check(ids)
        if key == "eligibilite":
            return self.eligibility(value, path)
        texts = self.texts(value, path, key)
        if texts is None:
            return None
        return _contains_check(texts) if key == "contient" else _excludes_check(texts)

    def eligibility(self, value: Any, path: tuple[str | int, ...]) -> Check | None:
        if not isinstance(value, dict) or not value:
            self.fail(path, "« eligibilite » s'écrit {aci: eligible, cjs: non_eligible}")
            return None
        wanted: dict[str, str] = {}
        for cat, result in value.items():
            known = self.vocab.categories | {"iae"}
            if cat not in known:
                self.fail(
                    (*path, cat), self.unknown("catégorie inconnue", str(cat), known), key=True
                )
                continue
            if result not in ELIGIBILITY_RESULTS:
                message = self.unknown("résultat inconnu", str(result), ELIGIBILITY_RESULTS)
                self.fail((*path, cat), message)
                continue
            wanted[str(cat)] = str(result)
        return _eligibility_check(wanted) if len(wanted) == len(value) else None

    # --- small readers -----------------------------------------------------------------------

    def text(self, item: dict[str, Any], path: tuple[str | int, ...], required: bool) -> str | None:
        value = item.get(str(path[-1]))
        if value is None:
            if required:
                self.fail(path[:-1], f"« {path[-1]} » manquant")
            return None
        if isinstance(value, (dict, list, bool)) or not str(value).strip():
            self.fail(path, f"« {path[-1]} » doit être un texte")
            return None
        return str(value).strip()

    def word(
        self,
        value: Any,
        path: tuple[str | int, ...],
        known: frozenset[str],
        what: str,
        *,
        nullable: bool,
    ) -> str | Literal[False] | None:
        """A known id, None for null, or False after reporting a problem."""
        if value is None and nullable:
            return None
        if not isinstance(value, str) or value not in known:
            self.fail(path, self.unknown(what, str(value), known))
            return False
        return value

    def words(
        self, value: Any, path: tuple[str | int, ...], known: frozenset[str], what: str
    ) -> tuple[str, ...] | None:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            self.fail(path, f"« {path[-1]} » est une liste, ex. [aci, ei]")
            return None
        out: list[str] = []
        for index, item in enumerate(items):
            name = str(item)
            if not isinstance(item, str) or name not in known:
                where = (*path, index) if isinstance(value, list) else path
                self.fail(where, self.unknown(what, name, known))
                return None
            out.append(name)
        return tuple(out)

    def texts(self, value: Any, path: tuple[str | int, ...], key: str) -> tuple[str, ...] | None:
        items = [value] if isinstance(value, str) else value
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, str) and i.strip() for i in items)
        ):
            self.fail(path, f'« {key} » est une liste de textes, ex. ["Lunéville"]')
            return None
        return tuple(items)

    def unknown(self, what: str, value: str, known: Sequence[str] | frozenset[str]) -> str:
        """ "catégorie inconnue « x » — vouliez-vous dire « y » ?" """
        hint = did_you_mean(value, known)
        message = f"{what} « {value} »"
        return message + (f" — vouliez-vous dire « {hint} » ?" if hint else "")

    def unknown_keys(
        self, item: Mapping[str, Any], path: tuple[str | int, ...], known: Sequence[str]
    ) -> None:
        for key in item:
            if key not in known:
                hint = did_you_mean(str(key), known)
                extra = f" — vouliez-vous dire « {hint} » ?" if hint else ""
                allowed = ", ".join(known)
                message = f"clé inconnue « {key} »{extra} (possibles : {allowed})"
                self.fail((*path, key), message, key=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- the checks ---------------------------------------------------------------------------------


def _shown(turn: Turn) -> list[str]:
    return [str(s.get("categorie")) for s in turn.trace.structures]


def _listing(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _need_check(need: str | None) -> Check:
    def test(turn: Turn) -> str | None:
        return None if turn.trace.need == need else str(turn.trace.need or "null")

    return Check("besoin", need or "null", test)


def _asking_check(*facts: str | None) -> Check:
    """The fact asked is one of these (None: the bot asks nothing)."""

    def test(turn: Turn) -> str | None:
        return None if turn.trace.asking in facts else str(turn.trace.asking or "null")

    shown = " ou ".join(str(f) for f in facts)
    return Check("demande", "null (ne demande rien)" if facts == (None,) else shown, test)


def _proposes_check(categories: tuple[str, ...]) -> Check:
    def test(turn: Turn) -> str | None:
        shown = _shown(turn)
        if not categories:
            return None if not shown else _listing(shown)
        ok = bool(shown) and all(c in categories for c in shown)
        return None if ok else (_listing(shown) if shown else "aucune structure")

    expected = _listing(categories) if categories else "aucune structure"
    return Check("propose", expected, test)


def _avoids_check(categories: tuple[str, ...]) -> Check:
    def test(turn: Turn) -> str | None:
        shown = _shown(turn)
        return _listing(shown) if any(c in categories for c in shown) else None

    return Check("ne_propose_pas", "aucune de " + _listing(categories), test)


def _faq_check(ids: tuple[str, ...]) -> Check:
    def test(turn: Turn) -> str | None:
        found = turn.trace.faq
        return None if any(f in ids for f in found) else (_listing(found) if found else "aucune")

    return Check("faq", "une de " + _listing(ids), test)


def _eligibility_check(wanted: dict[str, str]) -> Check:
    def test(turn: Turn) -> str | None:
        got = turn.trace.eligibility
        for cat, result in wanted.items():
            if cat == "iae":
                values = [v for c, v in got.items() if c in IAE_CATEGORIES]
                if not values or any(v != result for v in values):
                    return _mapping(got)
            elif got.get(cat) != result:
                return _mapping(got)
        return None

    return Check("eligibilite", _mapping(wanted), test)


def _mapping(values: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in values.items()) + "}" if values else "{}"


def visible_text(turn: Turn) -> str:
    """What the person reads in one turn: every answer, then every button label."""
    parts: list[str] = []
    for reply in turn.replies:
        parts.append(reply.text)
        parts += [c.label for c in reply.choices]
    return "\n".join(parts)


def _has(seen: str, wanted: str) -> bool:
    """Whole words, case and accents ignored: "RSA" is not found in "conversation"."""
    return re.search(rf"(?<![a-z0-9]){re.escape(fold(wanted))}(?![a-z0-9])", seen) is not None


def _contains_check(texts: tuple[str, ...]) -> Check:
    def test(turn: Turn) -> str | None:
        seen = fold(visible_text(turn))
        missing = [t for t in texts if not _has(seen, t)]
        return None if not missing else "absent : " + ", ".join(f"« {t} »" for t in missing)

    return Check("contient", ", ".join(f"« {t} »" for t in texts), test)


def _excludes_check(texts: tuple[str, ...]) -> Check:
    def test(turn: Turn) -> str | None:
        seen = fold(visible_text(turn))
        present = [t for t in texts if _has(seen, t)]
        return None if not present else "présent : " + ", ".join(f"« {t} »" for t in present)

    return Check("ne_contient_pas", "aucun de " + ", ".join(f"« {t} »" for t in texts), test)


# --- running ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    """One person talking to a dialogue, kept in memory the way the dispatcher keeps it.

    The state goes through JSON between turns (as in SQLite); a crash of the dialogue gives its
    apology and keeps the state; /mes_donnees gets what the store would hold (the state before
    the turn, the questions not understood, the call-back requests); /oubli erases it all.
    """

    dialogue: Dialogue
    conversation: str = "histoire"
    platform: str = "test"
    state: dict[str, Any] | None = None
    unanswered: list[str] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    choices: tuple[Choice, ...] = ()  # every button of the last answer
    last_choices: tuple[Choice, ...] = ()  # those of its last message: what "2" refers to
    events: int = 0
    error: str | None = None  # the last crash, as "TypeError at bot/x.py:12"

    def send(self, incoming: Incoming) -> Turn:
        self.error = None
        before = self.state
        result = self._step(incoming)
        if result.show_personal_data:
            data = {
                "state": before,
                "unanswered": list(self.unanswered),
                "callbacks": list(self.callbacks),
            }
            result.turn.replies.insert(0, self.dialogue.personal_data_reply(data, result.state))
        if result.state is None:
            self.state, self.unanswered, self.callbacks = None, [], []
        else:
            self.state = json.loads(json.dumps(result.state, ensure_ascii=False))
            self.unanswered += [u.text for u in result.unanswered]
            for c in result.callbacks:
                if c.amends_latest and self.callbacks:  # the moment given after the number
                    self.callbacks[-1]["moment"] = c.moment or self.callbacks[-1]["moment"]
                elif not c.amends_latest:
                    self.callbacks.append(
                        {"telephone": c.phone, "moment": c.moment, "statut": "nouveau"}
                    )
        if result.turn.replies:
            self.choices = tuple(c for reply in result.turn.replies for c in reply.choices)
            with_choices = [reply.choices for reply in result.turn.replies if reply.choices]
            self.last_choices = with_choices[-1] if with_choices else ()
        return result.turn

    def next_incoming(self, **what: Any) -> Incoming:
        self.events += 1
        return Incoming(self.platform, self.conversation, f"e{self.events}", **what)

    def _step(self, incoming: Incoming) -> StepResult:
        try:
            return self.dialogue.step(self.state, incoming)
        except Exception as exc:  # the dispatcher's behaviour: apologise, keep the state
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            self.error = f"{type(exc).__name__} ({Path(frame.filename).name}:{frame.lineno})"
            state = self.state if self.state is not None else {}
            return StepResult(turn=Turn([self.dialogue.failure_reply(self.state)]), state=state)


@dataclass(frozen=True, slots=True)
class Failure:
    key: str
    expected: str
    actual: str


@dataclass(frozen=True, slots=True)
class TurnResult:
    number: int
    line: int
    action: Action
    incoming: Incoming | None  # None when the action could not be done (a choice not offered)
    turn: Turn | None
    failures: tuple[Failure, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class StoryResult:
    story: Story
    turns: tuple[TurnResult, ...]

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns) and len(self.turns) == len(self.story.tours)


def resolve_choice(
    value: str, offered: Sequence[Choice], numbered: Sequence[Choice]
) -> Choice | None:
    """The offered choice a story names: its number in the last list, its id, its label, or
    the one label that contains the words given ("Noisy-le-Sec" for "Noisy-le-Sec (93)")."""
    wanted = value.strip()
    if wanted.isdigit():
        index = int(wanted) - 1
        return numbered[index] if 0 <= index < len(numbered) else None
    for choice in offered:
        if choice.id == wanted:
            return choice
    for choice in offered:
        if fold(choice.label) == fold(wanted):
            return choice
    containing = [c for c in offered if fold(wanted) and fold(wanted) in fold(c.label)]
    return containing[0] if len(containing) == 1 else None


def incoming_for(action: Action, session: Session) -> Incoming | None:
    """What the person sends for this action; None when the choice named is not offered."""
    if isinstance(action.value, Location):
        return session.next_incoming(location=action.value)
    if action.kind == "dit":
        return session.next_incoming(text=action.value)
    if action.kind == "lien":
        return session.next_incoming(start=action.value)
    choice = resolve_choice(action.value, session.choices, session.last_choices)
    return None if choice is None else session.next_incoming(choice=choice.id)


def run_story(
    story: Story, dialogue_for: DialogueFactory, *, default_departement: str = "54"
) -> StoryResult:
    """Play every turn of the story in one new conversation; check each answer."""
    dialogue = dialogue_for(story.departement or default_departement, story.date)
    session = Session(dialogue, conversation=story.id)
    results: list[TurnResult] = []
    for number, step in enumerate(story.tours, 1):
        incoming = incoming_for(step.action, session)
        if incoming is None:
            listed = [f"{i}. {c.label} ({c.id})" for i, c in enumerate(session.last_choices, 1)]
            offered = ", ".join(listed) or "aucun"
            failure = Failure("choisit", str(step.action.value), f"choix proposés : {offered}")
            results.append(TurnResult(number, step.line, step.action, None, None, (failure,)))
            break  # the rest of the story cannot be played
        turn = session.send(incoming)
        failures = [
            Failure(check.key, check.expected, actual)
            for check in step.checks
            if (actual := check.test(turn)) is not None
        ]
        if session.error is not None:
            failures.insert(0, Failure("erreur", "aucune", f"le bot a planté : {session.error}"))
        results.append(TurnResult(number, step.line, step.action, incoming, turn, tuple(failures)))
    return StoryResult(story, tuple(results))


# --- reporting ----------------------------------------------------------------------------------

_LABELS = {
    "besoin": "besoin",
    "demande": "demande",
    "propose": "propose",
    "ne_propose_pas": "ne propose pas",
    "faq": "faq",
    "eligibilite": "éligibilité",
    "contient": "contient",
    "ne_contient_pas": "ne contient pas",
    "choisit": "choisit",
    "erreur": "erreur",
}


def format_result(result: StoryResult, *, verbose: bool = False) -> str:
    """One line for a story that passes; for a failure, each failing turn as expected/actual."""
    story = result.story
    mark = "✓" if result.passed else "✗"
    title = f" — {story.titre}" if story.titre else ""
    lines = [f"{mark} {story.id}{title} ({story.where})"]
    for turn in result.turns:
        if turn.passed and not verbose:
            continue
        status = "" if turn.passed else " ✗"
        lines.append(f"  tour {turn.number} (ligne {turn.line}) : {turn.action.describe()}{status}")
        width = max((len(_LABELS[f.key]) for f in turn.failures), default=0)
        for failure in turn.failures:
            label = _LABELS[failure.key].ljust(width)
            lines.append(f"    {label}  attendu : {failure.expected}")
            lines.append(f"    {' ' * width}  obtenu  : {failure.actual}")
        if turn.turn is not None:
            trace = turn.turn.trace
            shown = ", ".join(_shown(turn.turn)) or "aucune"
            lines.append(
                f"    (trace : besoin={trace.need or 'null'}, demande={trace.asking or 'null'}, "
                f"structures=[{shown}], faq={_listing(trace.faq)}, "
                f"éligibilité={_mapping(trace.eligibility)})"
            )
            lines += ["    | " + row for row in visible_text(turn.turn).splitlines() if row]
    return "\n".join(lines)


def summary(results: Sequence[StoryResult]) -> str:
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    return (
        f"{len(results)} histoire(s) : {passed} réussie(s), {failed} échouée(s). / "
        f"{len(results)} stories: {passed} passed, {failed} failed."
    )
