"""The declarative eligibility engine (domain brief §5.7): pure, no I/O.

Rules are compiled once, when the knowledge base is loaded, into small closures; evaluation uses
three-valued (Kleene) logic so that a missing fact makes a condition *unknown* rather than false,
and the verdict says which facts could still change the result.

Grammar of a condition (YAML)::

    {fait: age, op: ">=", valeur: 16}           # age, sans_emploi_mois, residence_depuis_mois,
                                                # mois_courant; op: >= <= > < == !=
    {fait: statuts, contient: RSA}
    {fait: statuts, contient_un_de: [RSA, ASS]}
    {fait: commune, dans_zone: tzcld-colombey}
    {fait: commune, dans_zone_du_service: true}
    {fait: mois_courant, dans: [6, 7, 8]}       # also commune: dans / dans_codes [INSEE…]
    {tous: [c, …]} | {au_moins_un: [c, …]} | {non: c} | {au_moins: 2, parmi: [c, …]}
    {regle: <rule id>}
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.kb import vocab
from bot.kb.models import Rule, Zone
from bot.text import did_you_mean

Result = Literal["eligible", "a_verifier", "non_eligible"]
Path = tuple[str | int, ...]

FactKind = Literal["nombre", "statuts", "commune"]


@dataclass(frozen=True, slots=True)
class FactSpec:
    """A fact rules may test: its name, its kind, and the question id that asks it (None:
    never asked, like the bot's clock `mois_courant`). Declared in the knowledge base
    (`knowledge/commun/faits.yaml`); `commune` and `statuts` are always there."""

    name: str
    kind: FactKind
    asked_as: str | None = None


# What rules can test when the knowledge base declares nothing more (tests, tools).
DEFAULT_FACTS: tuple[FactSpec, ...] = (
    FactSpec("statuts", "statuts", "situation"),
    FactSpec("age", "nombre", "age"),
    FactSpec("sans_emploi_mois", "nombre", "duree_sans_emploi"),
    FactSpec("residence_depuis_mois", "nombre", "residence_depuis"),
    FactSpec("commune", "commune", "commune"),
    FactSpec("mois_courant", "nombre", None),
)


def fact_specs(declared: Iterable[AskableFactLike]) -> list[FactSpec]:
    """The facts rules may test, from the knowledge base's askable facts, in asking order."""
    ordered = sorted(declared, key=lambda f: f.ordre)
    return [FactSpec(f.fait, f.type, f.id) for f in ordered] + [
        FactSpec("commune", "commune", "commune"),
        FactSpec("mois_courant", "nombre", None),
    ]


class AskableFactLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def fait(self) -> str: ...
    @property
    def type(self) -> Literal["nombre", "statuts"]: ...
    @property
    def ordre(self) -> int: ...


_COMPARATORS: Mapping[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_OPERATORS_BY_KIND: Mapping[FactKind, tuple[str, ...]] = {
    "nombre": ("op", "dans"),
    "statuts": ("contient", "contient_un_de"),
    "commune": ("dans_zone", "dans_zone_du_service", "dans", "dans_codes"),
}
_ALL_OPERATORS = frozenset(op for ops in _OPERATORS_BY_KIND.values() for op in ops)
_COMBINATORS = ("tous", "au_moins_un", "non", "au_moins", "regle")


# --- public types -------------------------------------------------------------------------------


class Facts:
    """What is known about the person: numbers by fact name (`age=17`), situations, commune.

    A number that is absent is unknown. When `statuts_connus` is false, a statut present in
    `statuts` still counts as true (the person said it), but an absent one is unknown rather
    than false.
    """

    __slots__ = ("commune", "numbers", "statuts", "statuts_connus")

    def __init__(
        self,
        *,
        statuts: frozenset[str] = frozenset(),
        statuts_connus: bool = False,
        commune: str | None = None,
        **numbers: int | None,
    ) -> None:
        self.statuts = statuts
        self.statuts_connus = statuts_connus
        self.commune = commune
        self.numbers: Mapping[str, int] = {k: v for k, v in numbers.items() if v is not None}

    def number(self, name: str) -> int | None:
        return self.numbers.get(name)

    def key(self) -> Hashable:
        """Everything a rule can read, hashable: facts with equal keys get equal verdicts."""
        numbers = tuple(sorted(self.numbers.items()))
        return (self.statuts, self.statuts_connus, self.commune, numbers)

    def __repr__(self) -> str:
        return (
            f"Facts(statuts={set(self.statuts)}, statuts_connus={self.statuts_connus}, "
            f"commune={self.commune}, numbers={dict(self.numbers)})"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    rule_id: str
    result: Result | None  # None: facts missing and the rule says to ask them (si_inconnu)
    missing: tuple[str, ...]  # facts whose knowledge could change the result, in asking order
    explanation: str
    decide_par: str
    question: str | None  # the rule's question for missing[0], if it has one
    explanation_en: str = ""  # the explanation and who decides in English ("": none written)
    decide_par_en: str = ""

    def explanation_in(self, lang: str) -> str:
        return (self.explanation_en if lang == "en" else "") or self.explanation

    def decider_in(self, lang: str) -> str:
        return (self.decide_par_en if lang == "en" else "") or self.decide_par


@dataclass(frozen=True, slots=True)
class RuleIssue:
    """One compile error: `path` is inside the rule's `field` (usually its conditions)."""

    rule_id: str
    path: Path
    message: str
    field: str = "conditions"


class RuleError(Exception):
    """Rules that cannot be compiled; `issues` lists every problem found."""

    def __init__(self, issues: Iterable[RuleIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(f"{i.rule_id}: {i.message}" for i in self.issues))


class CommuneLike(Protocol):
    @property
    def insee(self) -> str: ...
    @property
    def dept(self) -> str: ...
    @property
    def epci(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...


class PlacesLike(Protocol):
    def get(self, insee: str, /) -> CommuneLike | None: ...


# --- zones --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZoneIndex:
    """Answers "is this commune (INSEE) in that zone?" for every zone type."""

    zones: Mapping[str, Zone]
    places: PlacesLike | None = None
    _codes: dict[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for zone_id, zone in self.zones.items():
            self._codes[zone_id] = frozenset(zone.codes)

    def __contains__(self, zone_id: object) -> bool:
        return zone_id in self.zones

    def contains(self, zone_id: str, insee: str) -> bool:
        zone = self.zones[zone_id]
        return codes_contain(zone.type, self._codes[zone_id], insee, self.places)


def codes_contain(
    zone_type: str, codes: frozenset[str] | set[str], insee: str, places: PlacesLike | None
) -> bool:
    """Whether commune `insee` is inside the zone of `zone_type` made of `codes`."""
    if zone_type in ("commune", "liste_communes"):
        return insee in codes
    commune = places.get(insee) if places is not None else None
    if zone_type == "pays":
        return "france" in codes and (places is None or commune is not None)
    if commune is None:
        return False
    if zone_type == "epci":
        return commune.epci in codes
    if zone_type == "departement":
        return commune.dept in codes
    if zone_type == "region":
        return commune.region in codes
    return False


# --- compiled conditions ------------------------------------------------------------------------

Tri = tuple[bool | None, frozenset[str]]  # value (None = unknown), facts that left it unknown
_NOTHING: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Context:
    facts: Facts
    service_zone: Callable[[str], bool] | None
    book: RuleBook


Node = Callable[[_Context], Tri]


def _unknown(fact: str) -> Tri:
    return None, frozenset((fact,))


def _compare(fact: str, cmp: Callable[[int, int], bool], value: int) -> Node:
    def node(ctx: _Context) -> Tri:
        known = ctx.facts.numbers.get(fact)
        return _unknown(fact) if known is None else (cmp(known, value), _NOTHING)

    return node


def _member(fact: str, values: frozenset[Any]) -> Node:
    def node(ctx: _Context) -> Tri:
        known = ctx.facts.commune if fact == "commune" else ctx.facts.numbers.get(fact)
        return _unknown(fact) if known is None else (known in values, _NOTHING)

    return node


def _has_statut(wanted: frozenset[str]) -> Node:
    def node(ctx: _Context) -> Tri:
        if ctx.facts.statuts & wanted:
            return True, _NOTHING
        return (False, _NOTHING) if ctx.facts.statuts_connus else _unknown("statuts")

    return node


def _in_zone(zone_id: str) -> Node:
    def node(ctx: _Context) -> Tri:
        commune = ctx.facts.commune
        if commune is None:
            return _unknown("commune")
        return ctx.book.zones.contains(zone_id, commune), _NOTHING

    return node


def _in_service_zone(ctx: _Context) -> Tri:
    commune = ctx.facts.commune
    if commune is None:
        return _unknown("commune")
    if ctx.service_zone is None:
        return None, _NOTHING  # cannot tell without a service; no fact would help
    return ctx.service_zone(commune), _NOTHING


def _count(children: tuple[Node, ...], needed: int) -> Node:
    def node(ctx: _Context) -> Tri:
        true_count = 0
        unknown: list[frozenset[str]] = []
        for child in children:
            value, missing = child(ctx)
            if value is True:
                true_count += 1
                if true_count >= needed:
                    return True, _NOTHING
            elif value is None:
                unknown.append(missing)
        if true_count + len(unknown) < needed:
            return False, _NOTHING
        return None, frozenset().union(*unknown)

    return node


def _negate(child: Node) -> Node:
    def node(ctx: _Context) -> Tri:
        value, missing = child(ctx)
        return (None, missing) if value is None else (not value, _NOTHING)

    return node


def _refer(rule_id: str) -> Node:
    def node(ctx: _Context) -> Tri:
        return ctx.book.nodes[rule_id](ctx)

    return node


# --- compiler -----------------------------------------------------------------------------------


class _Compiler:
    """Turns one conditions dict into a Node, collecting issues instead of stopping at the first."""

    def __init__(
        self,
        rule_id: str,
        rule_ids: Iterable[str],
        zones: Iterable[str],
        facts: Mapping[str, FactSpec],
    ) -> None:
        self.rule_id = rule_id
        self.facts = facts
        self.rule_ids = frozenset(rule_ids)
        self.zone_ids = frozenset(zones)
        self.issues: list[RuleIssue] = []
        self.references: list[tuple[str, Path]] = []

    def fail(self, path: Path, message: str) -> Node:
        self.issues.append(RuleIssue(self.rule_id, path, message))
        return lambda ctx: (None, _NOTHING)

    def compile(self, cond: object, path: Path = ()) -> Node:
        if not isinstance(cond, dict):
            return self.fail(path, f"une condition doit être un dictionnaire, pas « {cond} »")
        if "fait" in cond:
            return self.leaf(cond, path)
        keys = [k for k in cond if k in _COMBINATORS]
        if not keys:
            return self.unknown_keys(cond, path, (*_COMBINATORS, "fait"))
        head = keys[0]
        allowed = {head, "parmi"} if head == "au_moins" else {head}
        extra = [k for k in cond if k not in allowed]
        if extra:
            return self.fail(
                (*path, str(extra[0])), f"clé inattendue « {extra[0]} » à côté de « {head} »"
            )
        return self.combinator(head, cond, path)

    def unknown_keys(self, cond: dict[Any, Any], path: Path, allowed: tuple[str, ...]) -> Node:
        key = str(next(iter(cond), ""))
        hint = did_you_mean(key, allowed)
        suffix = f" — vouliez-vous dire « {hint} » ?" if hint else ""
        return self.fail((*path, key), f"opérateur inconnu « {key} »{suffix}")

    def children(self, items: object, path: Path) -> tuple[Node, ...] | None:
        if not isinstance(items, list) or not items:
            self.fail(path, "une liste non vide de conditions est attendue")
            return None
        return tuple(self.compile(item, (*path, i)) for i, item in enumerate(items))

    def combinator(self, head: str, cond: dict[str, Any], path: Path) -> Node:
        if head == "non":
            return _negate(self.compile(cond["non"], (*path, "non")))
        if head == "regle":
            return self.reference(cond["regle"], (*path, "regle"))
        if head == "au_moins":
            needed = cond["au_moins"]
            if not _is_int(needed) or needed < 1:
                return self.fail((*path, "au_moins"), "au_moins doit être un entier ≥ 1")
            if "parmi" not in cond:
                return self.fail(path, "« parmi » manquant après « au_moins »")
            items = self.children(cond["parmi"], (*path, "parmi"))
            if items is not None and needed > len(items):
                self.fail((*path, "au_moins"), f"au_moins {needed} parmi {len(items)} conditions")
            return _count(items or (), needed)
        items = self.children(cond[head], (*path, head))
        if items is None:
            return lambda ctx: (None, _NOTHING)
        return _count(items, len(items) if head == "tous" else 1)

    def reference(self, target: object, path: Path) -> Node:
        if not isinstance(target, str) or target not in self.rule_ids:
            hint = did_you_mean(str(target), self.rule_ids)
            suffix = f" — vouliez-vous dire « {hint} » ?" if hint else ""
            return self.fail(path, f"règle inconnue « {target} »{suffix}")
        self.references.append((target, path))
        return _refer(target)

    def leaf(self, cond: dict[str, Any], path: Path) -> Node:
        fact = cond["fait"]
        spec = self.facts.get(fact) if isinstance(fact, str) else None
        if spec is None:
            hint = did_you_mean(str(fact), self.facts)
            suffix = f" — vouliez-vous dire « {hint} » ?" if hint else ""
            return self.fail((*path, "fait"), f"fait inconnu « {fact} »{suffix}")
        ops = [k for k in cond if k != "fait" and k != "valeur"]
        allowed = _OPERATORS_BY_KIND[spec.kind]
        if len(ops) != 1:
            if not ops:
                return self.fail(path, f"opérateur manquant pour le fait « {fact} »")
            return self.fail((*path, str(ops[1])), "un seul opérateur par condition")
        op = str(ops[0])
        if op not in allowed:
            hint = did_you_mean(op, allowed)
            if op in _ALL_OPERATORS:
                message = f"opérateur « {op} » impossible pour le fait « {fact} »"
            else:
                message = f"opérateur inconnu « {op} »"
            suffix = f" — vouliez-vous dire « {hint} » ?" if hint else ""
            return self.fail((*path, op), message + suffix)
        if "valeur" in cond and op != "op":
            return self.fail((*path, "valeur"), f"« valeur » ne va qu'avec « op », pas « {op} »")
        return self.operator(fact, op, cond, path)

    def operator(self, fact: str, op: str, cond: dict[str, Any], path: Path) -> Node:
        arg = cond[op]
        here = (*path, op)
        if op == "op":
            return self.comparison(fact, arg, cond, path)
        if op == "contient":
            return self.statuts([arg], here, single=True)
        if op == "contient_un_de":
            return self.statuts(arg, here, single=False)
        if op == "dans_zone":
            if arg not in self.zone_ids:
                hint = did_you_mean(str(arg), self.zone_ids)
                suffix = f" — vouliez-vous dire « {hint} » ?" if hint else ""
                return self.fail(here, f"zone inconnue « {arg} »{suffix}")
            return _in_zone(str(arg))
        if op == "dans_zone_du_service":
            if arg is not True:
                return self.fail(here, "dans_zone_du_service ne peut valoir que true")
            return _in_service_zone
        return self.membership(fact, arg, here)

    def comparison(self, fact: str, arg: object, cond: dict[str, Any], path: Path) -> Node:
        if arg not in _COMPARATORS:
            choices = ", ".join(_COMPARATORS)
            return self.fail(
                (*path, "op"), f"comparaison inconnue « {arg} » (possibles : {choices})"
            )
        if "valeur" not in cond:
            return self.fail(path, "« valeur » manquante pour la comparaison")
        value = cond["valeur"]
        if not _is_int(value):
            return self.fail((*path, "valeur"), f"un nombre entier est attendu, pas « {value} »")
        return _compare(fact, _COMPARATORS[str(arg)], value)

    def statuts(self, values: object, path: Path, *, single: bool) -> Node:
        if not single and (not isinstance(values, list) or not values):
            return self.fail(path, "une liste non vide de statuts est attendue")
        assert isinstance(values, list)
        ok = True
        for i, value in enumerate(values):
            if value not in vocab.STATUTS:
                where = path if single else (*path, i)
                hint = did_you_mean(str(value), vocab.STATUTS)
                suffix = f" — vouliez-vous dire « {hint} » ?" if hint else ""
                self.fail(where, f"statut inconnu « {value} »{suffix}")
                ok = False
        return _has_statut(frozenset(values)) if ok else (lambda ctx: (None, _NOTHING))

    def membership(self, fact: str, values: object, path: Path) -> Node:
        if not isinstance(values, list) or not values:
            return self.fail(path, "une liste non vide de valeurs est attendue")
        want_int = self.facts[fact].kind == "nombre"
        for i, value in enumerate(values):
            if want_int and not _is_int(value):
                return self.fail((*path, i), f"un nombre entier est attendu, pas « {value} »")
            if not want_int and not isinstance(value, str):
                return self.fail((*path, i), f"un code INSEE (texte) est attendu, pas « {value} »")
        return _member(fact, frozenset(values))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _find_cycle(graph: Mapping[str, list[tuple[str, Path]]]) -> list[str] | None:
    """A cycle of rule references, if any (the rule ids along it, first repeated at the end)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(rule_id: str) -> list[str] | None:
        state[rule_id] = 1
        stack.append(rule_id)
        for target, _ in graph.get(rule_id, ()):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[rule_id] = 2
        return None

    for rule_id in graph:
        if rule_id not in state and (cycle := visit(rule_id)):
            return cycle
    return None


# --- the rule book ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Compiled eligibility rules; build it with `RuleBook.compile`."""

    rules: Mapping[str, Rule]
    nodes: Mapping[str, Node]
    zones: ZoneIndex
    facts: Mapping[str, FactSpec]  # by name, in the order facts are asked

    @classmethod
    def compile(
        cls,
        rules: Iterable[Rule] | Mapping[str, Rule],
        zones: Iterable[Zone] | Mapping[str, Zone] = (),
        places: PlacesLike | None = None,
        facts: Iterable[FactSpec] = DEFAULT_FACTS,
    ) -> RuleBook:
        """Compile every rule; raise RuleError listing every problem (with paths) otherwise."""
        by_id = dict(rules) if isinstance(rules, Mapping) else {r.id: r for r in rules}
        zone_map = dict(zones) if isinstance(zones, Mapping) else {z.id: z for z in zones}
        specs = {f.name: f for f in facts}
        for always in DEFAULT_FACTS:
            if always.kind != "nombre":
                specs.setdefault(always.name, always)
        specs.setdefault("mois_courant", FactSpec("mois_courant", "nombre", None))
        nodes: dict[str, Node] = {}
        issues: list[RuleIssue] = []
        graph: dict[str, list[tuple[str, Path]]] = {}
        for rule_id, rule in by_id.items():
            compiler = _Compiler(rule_id, by_id, zone_map, specs)
            nodes[rule_id] = compiler.compile(rule.conditions)
            issues += compiler.issues + _question_issues(rule, specs)
            graph[rule_id] = compiler.references
        cycle = _find_cycle(graph)
        if cycle:
            path = next(p for target, p in graph[cycle[0]] if target == cycle[1])
            message = "références circulaires entre règles : " + " → ".join(cycle)
            issues.append(RuleIssue(cycle[0], path, message))
        if issues:
            raise RuleError(issues)
        return cls(by_id, nodes, ZoneIndex(zone_map, places), specs)

    def check_conditions(self, conditions: object, owner: str = "") -> tuple[RuleIssue, ...]:
        """The problems of inline conditions (a service's `eligibilite.conditions`)."""
        compiler = _Compiler(owner, self.rules, self.zones.zones, self.facts)
        compiler.compile(conditions)
        return tuple(compiler.issues)

    def evaluate(
        self,
        rule_id: str,
        facts: Facts,
        *,
        service_zone: Callable[[str], bool] | None = None,
        is_iae: bool = False,
    ) -> Verdict:
        """The verdict of rule `rule_id` on `facts` (KeyError if the rule does not exist)."""
        rule = self.rules[rule_id]
        value, missing = self.nodes[rule_id](_Context(facts, service_zone, self))
        return _verdict(rule, value, missing, self.facts, is_iae=is_iae)

    def evaluate_conditions(
        self,
        conditions: dict[str, Any],
        facts: Facts,
        *,
        rule_defaults: Rule,
        service_zone: Callable[[str], bool] | None = None,
        is_iae: bool = False,
    ) -> Verdict:
        """Evaluate inline conditions with the results, texts and questions of `rule_defaults`."""
        compiler = _Compiler(rule_defaults.id, self.rules, self.zones.zones, self.facts)
        node = compiler.compile(conditions)
        if compiler.issues:
            raise RuleError(compiler.issues)
        value, missing = node(_Context(facts, service_zone, self))
        return _verdict(rule_defaults, value, missing, self.facts, is_iae=is_iae)


def _question_issues(rule: Rule, facts: Mapping[str, FactSpec]) -> list[RuleIssue]:
    known = set(facts) | {f.asked_as for f in facts.values() if f.asked_as}
    return [
        RuleIssue(rule.id, (key,), f"question pour un fait inconnu « {key} »", field="questions")
        for key in rule.questions
        if key not in known
    ]


def _verdict(
    rule: Rule,
    value: bool | None,
    missing: frozenset[str],
    facts: Mapping[str, FactSpec],
    *,
    is_iae: bool,
) -> Verdict:
    # Only facts that can be asked count (the bot's clock cannot), in the order they are asked.
    ordered = tuple(name for name, spec in facts.items() if spec.asked_as and name in missing)
    result: Result | None
    if value is True:
        result, explanation = rule.si_vrai, (rule.explication_si_vrai, rule.explication_si_vrai_en)
    elif value is False:
        result, explanation = rule.si_faux, (rule.explication_si_faux, rule.explication_si_faux_en)
    else:
        ask = rule.si_inconnu == "demander" and bool(ordered)
        result = None if ask else "a_verifier"
        explanation = (rule.explication_si_inconnu, rule.explication_si_inconnu_en)
    if is_iae and result == "non_eligible":
        result = "a_verifier"
    question = None
    if ordered:
        first = ordered[0]
        asked_as = facts[first].asked_as or first
        question = rule.questions.get(first) or rule.questions.get(asked_as)
    french, english = explanation
    return Verdict(
        rule.id, result, ordered, french, rule.decide_par, question, english, rule.decide_par_en
    )
