"""Scoring first messages (the dev set and the probes) the way the probe file's header says.

Each message is played as a fresh conversation in the persona's département, without the
persona; when the bot asks something, a persona answerer replies from the persona in a natural
sentence ("je suis demandeuse d'emploi depuis plus de deux ans"), until the bot asks nothing
more (at most six turns). Before the first useful answer, the persona may also press the button
that names what it wants (a "did you mean", a menu); after it, it only answers facts asked.

A useful answer is a turn that shows structures or explains a refusal (`non_eligible`) when
structures (or alternatives) are expected; else a turn with one of the expected FAQ; else a
turn that asks nothing. The checks:

- need: the trace's need at the first useful answer (at the last turn if none came);
- routing: over the conversation, at least one structure shown in `structures` and none in
  `forbidden`; `structures: []` means none may be shown except the `fallback` categories (the
  alternatives); with `depends_on_kb`, `fallback` also stands in for `structures`;
- faq: when `faq` is set, the trace's FAQ has one of those ids at some turn;
- questions: `clarify: false`: the first reply is the useful answer and asks nothing;
  `clarify: true`: the first reply asks something. Either way at most `max_questions` questions
  before the first useful answer (default: 0, or 1 with `clarify: true`), where asking the
  commune or choosing among homonyms does not count ("except to resolve a commune", issue 7);
  and no fact is asked twice in the conversation;
- eligibility: the trace's eligibility (merged over the turns, later ones win) has each value
  given; `to_check` means `a_verifier`; `iae` stands for every IAE category in the trace (at
  least one must be there);
- also_orient_to (soft, reported only): the referents the replies should name.

An entry with `after_start: true` is played after an opening /start (the welcome and its menu).

`python -m tests.scoring [FILE…] [--failures] [--quiet]` prints one report per message and the
pass rates (default: the dev set, then the probes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.config import DEFAULT_KNOWLEDGE, DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dialogue
from bot.kb.knowledge import KnowledgeBase
from bot.messages import Choice, Incoming, Turn
from bot.places import Gazetteer
from bot.stories import DialogueFactory, Session, visible_text
from bot.text import fold

DATA = Path(__file__).parent / "data"
DEVSET = DATA / "devset.yaml"
PROBES = DATA / "probes.yaml"
TODAY = dt.date(2026, 11, 26)
IAE = ("aci", "ei", "ai", "etti", "eiti")
MAX_TURNS = 6
# "Except to resolve a commune" (the issue): asking the commune, or which one, is not counted.
RESOLVING = frozenset({"commune", "confirmation_commune"})
ELIGIBILITY_WORDS = {
    "eligible": "eligible",
    "non_eligible": "non_eligible",
    "to_check": "a_verifier",
    "a_verifier": "a_verifier",
}
REFERENT_NAMES = {
    "france_travail": ("france travail",),
    "mission_locale": ("mission locale",),
    "cap_emploi": ("cap emploi",),
    "referent_rsa": ("referent rsa", "referent", "service insertion"),
    "mdph": ("mdph", "maison departementale des personnes handicapees"),
    "ccas": ("ccas", "action sociale"),
    "caf": ("caf", "allocations familiales"),
    "spip": ("spip", "probation"),
    "pij": ("information jeunesse", "pij"),
    "le_115": ("115",),
    "france_services": ("france services",),
    "cpam": ("cpam", "assurance maladie"),
}


# --- the one place where the dialogue under test is built -----------------------------------


def build_dialogue(
    kb: KnowledgeBase, gazetteer: Gazetteer, departement: str, today: dt.date | None
) -> Dialogue:
    """The dialogue the dev set, the probes, the stories and the contract suite talk to."""
    return OrientationDialogue(kb, gazetteer, DialogueSettings(), departement, today=today)


def dialogue_factory(
    kb: KnowledgeBase, gazetteer: Gazetteer, default_today: dt.date | None = TODAY
) -> DialogueFactory:
    """Dialogues by (département, today), built once each; no date given: `default_today`
    (None: the real date, as in `aiguillage chat`)."""

    @cache
    def for_departement(departement: str, today: dt.date | None) -> Dialogue:
        return build_dialogue(kb, gazetteer, departement, today or default_today)

    return for_departement


# --- the entries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Persona:
    age: int | None
    statuts: tuple[str, ...]
    commune_as_typed: str | None
    commune: str | None
    code_insee: str | None
    departement: str


@dataclass(frozen=True, slots=True)
class Expected:
    need: str | None
    structures: tuple[str, ...]
    forbidden: tuple[str, ...]
    faq: tuple[str, ...]
    clarify: bool
    eligibility: dict[str, str]  # category or "iae" → eligible / non_eligible / a_verifier
    reason: str | None
    also_orient_to: tuple[str, ...]
    fallback: tuple[str, ...]
    depends_on_kb: bool
    notes: str
    max_questions: int


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    text: str
    styles: tuple[str, ...]
    persona: Persona
    expected: Expected
    after_start: bool = False  # the person opened the bot (/start) and saw the menu first
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def load_entries(path: Path) -> list[Entry]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [entry_from(item) for item in data["messages"]]


def labels(path: Path = PROBES) -> dict[str, Any]:
    """The probe file's vocabularies (needs, structure kinds, referents, FAQ, styles, statuts)."""
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))["labels"]
    return loaded


def entry_from(item: dict[str, Any]) -> Entry:
    p = item["persona"]
    e = item["expected"]
    persona = Persona(
        age=p.get("age"),
        statuts=tuple(p.get("statuts") or ()),
        commune_as_typed=p.get("commune_as_typed"),
        commune=p.get("commune"),
        code_insee=None if p.get("code_insee") is None else str(p["code_insee"]),
        departement=str(p["departement"]),
    )
    raw_eligibility = dict(e.get("eligibility") or {})
    reason = raw_eligibility.pop("reason", None)
    clarify = bool(e.get("clarify", False))
    expected = Expected(
        need=e.get("need"),
        structures=tuple(e.get("structures") or ()),
        forbidden=tuple(e.get("forbidden") or ()),
        faq=tuple(e.get("faq") or ()),
        clarify=clarify,
        eligibility={
            str(k): ELIGIBILITY_WORDS.get(str(v), str(v)) for k, v in raw_eligibility.items()
        },
        reason=reason,
        also_orient_to=tuple(e.get("also_orient_to") or ()),
        fallback=tuple(e.get("fallback") or ()),
        depends_on_kb=bool(e.get("depends_on_kb", False)),
        notes=str(e.get("notes", "")),
        max_questions=int(item.get("max_questions", 1 if clarify else 0)),
    )
    return Entry(
        id=str(item["id"]),
        text=str(item["text"]),
        styles=tuple(item.get("styles") or ()),
        persona=persona,
        expected=expected,
        after_start=bool(item.get("after_start", False)),
        raw=item,
    )


# --- the persona answerer ------------------------------------------------------------------------


def feminine(entry: Entry) -> bool:
    """Half the personas answer in the feminine (stable per entry), as people do."""
    return zlib.crc32(entry.id.encode()) % 2 == 0


def _gendered(masculine: str, feminine_form: str, fem: bool) -> str:
    return feminine_form if fem else masculine


def situation_sentence(persona: Persona, fem: bool) -> str:
    """How this person would answer "Quelle est votre situation ?"."""
    s = set(persona.statuts)
    parts: list[str] = []
    if "rsa" in s:
        parts.append("je touche le RSA")
    if "ass" in s:
        parts.append("je touche l'ASS")
    if "aah" in s:
        parts.append("je touche l'AAH")
    if "are" in s:
        parts.append("je touche le chômage")
    jobseeker = _gendered("demandeur d'emploi", "demandeuse d'emploi", fem)
    if "detld_24_mois_plus" in s:
        parts.append(f"je suis {jobseeker} depuis plus de deux ans")
    elif "deld_12_24_mois" in s:
        parts.append(f"je suis {jobseeker} depuis un an et demi")
    elif "demandeur_emploi" in s:
        parts.append(f"je suis {jobseeker}")
    elif "jeune_sans_emploi" in s:
        parts.append("je n'ai pas de travail")
    if "salarie_precaire" in s:
        parts.append("je fais des petits contrats")
    if "salarie_insertion" in s:
        parts.append(
            _gendered("je suis salarié en insertion", "je suis salariée en insertion", fem)
        )
    if "etudiant" in s:
        parts.append(_gendered("je suis étudiant", "je suis étudiante", fem))
    if "lyceen" in s:
        parts.append("je suis au lycée")
    if "rqth" in s:
        parts.append(
            _gendered(
                "je suis reconnu travailleur handicapé",
                "je suis reconnue travailleuse handicapée",
                fem,
            )
        )
    if "pmr" in s:
        parts.append("je me déplace en fauteuil")
    if "parent_isole" in s:
        parts.append(_gendered("je suis seul avec mes enfants", "je suis maman solo", fem))
    if "qpv" in s:
        parts.append("j'habite dans un quartier prioritaire")
    if "refugie" in s:
        parts.append(_gendered("je suis réfugié", "je suis réfugiée", fem))
    if "sortant_detention" in s:
        parts.append("je sors de prison")
    if "sortant_ase" in s:
        parts.append("je sors de l'aide sociale à l'enfance")
    if "sans_domicile" in s:
        parts.append(
            _gendered("je suis hébergé chez des amis", "je suis hébergée chez des amis", fem)
        )
    if "niveau_cap_bep_ou_infra" in s:
        parts.append("je n'ai pas de diplôme")
    if "fle" in s:
        parts.append("je parle un peu français")
    if "sans_permis" in s:
        parts.append("je n'ai pas le permis")
    if "sans_vehicule" in s:
        parts.append("je n'ai pas de voiture")
    if not parts:
        return "rien de tout ça"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " et " + parts[-1]


def duration_sentence(persona: Persona) -> str:
    s = set(persona.statuts)
    if "detld_24_mois_plus" in s:
        return "ça fait plus de deux ans"
    if "deld_12_24_mois" in s:
        return "depuis un an et demi"
    if "demandeur_emploi" in s or "are" in s:
        return "ça fait 8 mois"
    if "jeune_sans_emploi" in s:
        return "je n'ai jamais vraiment travaillé"
    return "je ne sais pas"


@dataclass(frozen=True, slots=True)
class Answer:
    """What the persona sends back: a sentence or a button."""

    text: str | None = None
    choice: Choice | None = None

    def describe(self) -> str:
        if self.choice is not None:
            return f"[{self.choice.label}]"
        return self.text or ""


def answer_for(
    turn: Turn, entry: Entry, offered: Sequence[Choice], *, menus: bool = True
) -> Answer | None:
    """The persona's answer to what the bot asked; None when it has nothing sensible to say.

    With `menus`, a "did you mean" or a menu gets the button that names what the person wants.
    """
    persona, expected = entry.persona, entry.expected
    asking = turn.trace.asking
    if asking == "commune":
        return Answer(text=f"j'habite à {persona.commune}") if persona.commune else None
    if asking == "confirmation_commune":
        for choice in offered:
            if persona.code_insee and choice.id.endswith(persona.code_insee):
                return Answer(choice=choice)
        for choice in offered:
            same_name = persona.commune and fold(choice.label).startswith(fold(persona.commune))
            if same_name and f"({persona.departement})" in choice.label:
                return Answer(choice=choice)
        return Answer(text=f"{persona.commune}, dans le {persona.departement}")
    if asking == "age":
        return Answer(text=f"j'ai {persona.age} ans" if persona.age else "je préfère ne pas dire")
    if asking == "situation":
        return Answer(text=situation_sentence(persona, feminine(entry)))
    if asking == "duree_sans_emploi":
        return Answer(text=duration_sentence(persona))
    if asking == "residence_depuis":
        return Answer(text="j'habite ici depuis 10 ans")
    if asking == "consentement":
        return Answer(text="non merci")
    if not menus:
        return None
    # "besoin", a "did you mean" or a menu: the button that says what the person wants.
    for choice in offered:
        if choice.id.removeprefix("faq:") in expected.faq or (
            expected.need and choice.id == f"need:{expected.need}"
        ):
            return Answer(choice=choice)
    return None


# --- playing and scoring --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exchange:
    said: str
    turn: Turn


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Outcome:
    entry: Entry
    exchanges: tuple[Exchange, ...]
    useful_at: int | None  # index of the first useful answer
    questions: tuple[str, ...]  # counted questions before it (commune resolution excluded)
    checks: tuple[CheckResult, ...]
    warnings: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    def failed_checks(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    def report(self) -> str:
        e, p = self.entry, self.entry.persona
        mark = "PASS" if self.passed else "FAIL"
        who = ", ".join(
            str(x) for x in (f"{p.age} ans" if p.age else None, *p.statuts, p.commune) if x
        )
        lines = [f"{mark} {e.id} [{p.departement}] « {e.text} »", f"  persona: {who}"]
        for check in self.checks:
            lines.append(f"  {'ok ' if check.ok else 'BAD'} {check.name:<12} {check.detail}")
        lines += [f"  (soft) {w}" for w in self.warnings]
        lines.append("  conversation:")
        for index, exchange in enumerate(self.exchanges):
            trace = exchange.turn.trace
            flag = " ← first useful answer" if index == self.useful_at else ""
            cats = ",".join(str(s.get("categorie")) for s in trace.structures) or "-"
            lines.append(f"    > {exchange.said}")
            lines.append(
                f"    < need={trace.need} asking={trace.asking} faq={trace.faq} "
                f"structures={cats} eligibility={trace.eligibility}{flag}"
            )
            text = " ".join(visible_text(exchange.turn).split())
            lines.append(f"      {text[:400]}{'…' if len(text) > 400 else ''}")
        if e.expected.notes:
            lines.append(f"  notes: {e.expected.notes}")
        return "\n".join(lines)


def is_useful(turn: Turn, expected: Expected) -> bool:
    trace = turn.trace
    if trace.need in ("urgence", "hors_perimetre") and expected.need == trace.need:
        return True
    if expected.structures or expected.fallback:
        return bool(trace.structures) or "non_eligible" in trace.eligibility.values()
    if expected.faq:
        return any(f in expected.faq for f in trace.faq)
    return trace.asking is None


def play(entry: Entry, dialogue: Dialogue) -> Played:
    """The conversation: answer the bot's questions until it asks nothing more.

    Before the first useful answer the persona may also press the button that names what it
    wants (a "did you mean" or a menu); after it, it only answers the facts the bot asks.
    """
    session = Session(dialogue, conversation=f"score-{entry.id}", platform="score")
    played = Played()
    if entry.after_start:
        session.send(session.next_incoming(start=""))
    said = entry.text
    incoming: Incoming = session.next_incoming(text=entry.text)
    for _ in range(MAX_TURNS):
        turn = session.send(incoming)
        played.exchanges.append(Exchange(said, turn))
        asking = turn.trace.asking
        if played.useful_at is None and is_useful(turn, entry.expected):
            played.useful_at = len(played.exchanges) - 1
        if played.useful_at is not None and asking is None:
            break
        answer = answer_for(turn, entry, session.choices, menus=played.useful_at is None)
        if answer is None:
            break
        if asking is not None:
            played.asked.append(asking)
        if played.useful_at is None and asking not in RESOLVING:
            played.questions.append(asking or "choice")
        said = answer.describe()
        if answer.choice is not None:
            incoming = session.next_incoming(choice=answer.choice.id)
        else:
            incoming = session.next_incoming(text=answer.text)
    return played


@dataclass(slots=True)
class Played:
    exchanges: list[Exchange] = field(default_factory=list)
    useful_at: int | None = None  # index of the first useful answer
    questions: list[str] = field(default_factory=list)  # counted questions before it
    asked: list[str] = field(default_factory=list)  # every fact asked in the conversation


def score(entry: Entry, dialogue_for: DialogueFactory, today: dt.date = TODAY) -> Outcome:
    played = play(entry, dialogue_for(entry.persona.departement, today))
    exchanges, useful_at = played.exchanges, played.useful_at
    expected = entry.expected
    need = exchanges[-1 if useful_at is None else useful_at].turn.trace.need
    checks = [
        _check_need(expected, need),
        _check_routing(expected, exchanges),
        _check_questions(expected, played),
    ]
    if expected.faq:
        checks.append(_check_faq(expected, exchanges))
    if expected.eligibility:
        checks.append(_check_eligibility(expected, exchanges))
    warnings = _soft_referents(expected, exchanges)
    return Outcome(
        entry,
        tuple(exchanges),
        useful_at,
        tuple(played.questions),
        tuple(checks),
        tuple(warnings),
    )


def _check_need(expected: Expected, need: str | None) -> CheckResult:
    ok = need == expected.need
    return CheckResult("need", ok, f"expected {expected.need}, got {need}")


def _shown(exchanges: Iterable[Exchange]) -> list[str]:
    return [str(s.get("categorie")) for x in exchanges for s in x.turn.trace.structures]


def _check_routing(expected: Expected, upto: list[Exchange]) -> CheckResult:
    shown = _shown(upto)
    forbidden = [c for c in shown if c in expected.forbidden]
    if expected.structures:
        wanted = set(expected.structures)
        if expected.depends_on_kb:
            wanted |= set(expected.fallback)
        ok = any(c in wanted for c in shown) and not forbidden
        what = f"one of {sorted(wanted)}"
    else:
        allowed = set(expected.fallback)
        ok = all(c in allowed for c in shown) and not forbidden
        what = "no structure" + (f" (alternatives allowed: {sorted(allowed)})" if allowed else "")
    if expected.forbidden:
        what += f", never {list(expected.forbidden)}"
    got = ", ".join(shown) or "no structure"
    return CheckResult("routing", ok, f"expected {what}; got {got}")


def _check_questions(expected: Expected, played: Played) -> CheckResult:
    useful_at, questions = played.useful_at, played.questions
    first = played.exchanges[0].turn.trace
    problems: list[str] = []
    if useful_at is None:
        problems.append("no useful answer came")
    if not expected.clarify and (useful_at != 0 or first.asking is not None):
        problems.append("the first reply should answer without asking")
    if expected.clarify and first.asking is None:
        problems.append("the first reply should ask something")
    if len(questions) > expected.max_questions:
        problems.append(f"{len(questions)} question(s) > {expected.max_questions} allowed")
    repeated = [q for q, n in Counter(played.asked).items() if n > 1]
    if repeated:
        problems.append(f"asked again: {', '.join(repeated)}")
    asked = ", ".join(questions) or "none"
    detail = f"questions before the first useful answer: {asked}"
    return CheckResult("questions", not problems, "; ".join([detail, *problems]))


def _check_faq(expected: Expected, upto: list[Exchange]) -> CheckResult:
    found = [f for x in upto for f in x.turn.trace.faq]
    ok = any(f in expected.faq for f in found)
    return CheckResult("faq", ok, f"expected one of {list(expected.faq)}, got {found}")


def _merged_eligibility(upto: list[Exchange]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for exchange in upto:
        merged.update(exchange.turn.trace.eligibility)
    return merged


def _check_eligibility(expected: Expected, upto: list[Exchange]) -> CheckResult:
    got = _merged_eligibility(upto)
    bad: list[str] = []
    for category, value in expected.eligibility.items():
        if category == "iae":
            values = [v for c, v in got.items() if c in IAE]
            if not values or any(v != value for v in values):
                bad.append(f"iae={value}")
        elif got.get(category) != value:
            bad.append(f"{category}={value}")
    detail = f"expected {expected.eligibility}, got {got}"
    return CheckResult("eligibility", not bad, detail)


def _soft_referents(expected: Expected, upto: list[Exchange]) -> list[str]:
    text = fold(" ".join(visible_text(x.turn) for x in upto))
    missing = [
        r
        for r in expected.also_orient_to
        if not any(fold(name) in text for name in REFERENT_NAMES.get(r, (r,)))
    ]
    return [f"referents not named: {', '.join(missing)}"] if missing else []


# --- the command line ---------------------------------------------------------------------------


def summarise(outcomes: Sequence[Outcome], title: str) -> str:
    total = len(outcomes)
    passed = sum(o.passed for o in outcomes)
    lines = [f"{title}: {passed}/{total} messages pass ({100 * passed / max(total, 1):.0f} %)"]
    names = ("need", "routing", "questions", "faq", "eligibility")
    for name in names:
        relevant = [c for o in outcomes for c in o.checks if c.name == name]
        if relevant:
            ok = sum(c.ok for c in relevant)
            lines.append(f"  {name:<12} {ok}/{len(relevant)}")
    by_dept: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_dept.setdefault(outcome.entry.persona.departement, []).append(outcome)
    cells = [f"{d}: {sum(o.passed for o in os)}/{len(os)}" for d, os in sorted(by_dept.items())]
    lines.append("  by département: " + ", ".join(cells))
    questions = [len(o.questions) for o in outcomes if o.useful_at is not None]
    if questions:
        mean = sum(questions) / len(questions)
        lines.append(f"  questions before the first useful answer: mean {mean:.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.scoring", description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, default=[DEVSET, PROBES])
    parser.add_argument("--failures", action="store_true", help="report failing messages only")
    parser.add_argument("--quiet", action="store_true", help="pass rates only")
    args = parser.parse_args(argv)
    from bot.kb.loader import load_knowledge

    gazetteer = Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")
    kb = load_knowledge(DEFAULT_KNOWLEDGE, gazetteer)
    dialogues = dialogue_factory(kb, gazetteer)
    for path in args.files:
        outcomes = [score(entry, dialogues) for entry in load_entries(path)]
        if not args.quiet:
            for outcome in outcomes:
                if not (args.failures and outcome.passed):
                    out(outcome.report() + "\n")
        out(summarise(outcomes, path.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
