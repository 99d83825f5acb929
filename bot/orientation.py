"""Where to send a person: search, eligibility pre-screen, value of information, referents.

Built once per knowledge base (indexes, compiled rules); every method is a pure computation on
the conversation state. No wording here: the acts of bot/conversation/acts/ word the results.

Value of information: a fact is worth asking before the first answer only when its answer can
change which structures are shown, i.e. when a rule of a category found nearby could refuse
the person (`si_faux: non_eligible`; an IAE pre-screen never refuses) and cannot decide without
it. After the first answer, a fact is worth one follow-up question when it can change the
pre-screen of a structure shown ("vous semblez remplir les conditions" instead of "à vérifier").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.conversation.state import ConversationState
from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import AskableFact, Meta
from bot.kb.vocab import IAE_CATEGORIES
from bot.kept import Kept
from bot.places import Commune, Gazetteer
from bot.ranking import Place, PlaceIndex, Proposal, SearchResult, build_indexes
from bot.rules import Facts as RuleFacts
from bot.rules import RuleBook, Verdict, fact_specs
from bot.texts import t

REFERENT_BY_STATUT = (("RQTH", "cap_emploi"), ("RSA", "referent_rsa"))
YOUTH_AGES = range(16, 26)  # the Mission locale's public
REFERENTS_KEPT = 4096  # nearest referents kept, by kinds and commune
VERDICTS_KEPT = 4096  # pre-screens of a category kept, by what the person said


@dataclass(frozen=True, slots=True)
class Routed:
    """A proposal with its eligibility pre-screen and the referent to name."""

    proposal: Proposal
    verdict: Verdict | None
    referent: str | None  # name of the nearest referent who can orient there
    reasons: tuple[str, ...] = ()  # the person's situations that the rule counts ("RSA")


@dataclass(frozen=True, slots=True)
class Screened:
    """A page of proposals after the eligibility pre-screen."""

    routed: list[Routed]  # the page shown, nearest first (named categories first)
    total: int  # how many can be shown in all (for "voir d'autres")
    refused: dict[str, Verdict]  # categories the person is probably not eligible for


class Orientation:
    def __init__(
        self,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        home_departement: str,
        today: Callable[[], dt.date] = dt.date.today,
        earlier: Orientation | None = None,
    ) -> None:
        """`earlier`: the orientation of the base before a reload (same gazetteer), whose places
        are kept where their records did not change."""
        self.kb = kb
        self.gazetteer = gazetteer
        self.home = home_departement
        self.today = today  # asked at each turn: a bot runs for months
        indexes = (earlier.services, earlier.referents) if earlier is not None else None
        self.services: PlaceIndex
        self.referents: PlaceIndex
        self.services, self.referents = build_indexes(kb, gazetteer, indexes)
        specs = fact_specs(kb.faits) if kb.faits else None
        self.rules = (
            RuleBook.compile(kb.rules, kb.zones, gazetteer, specs)
            if specs
            else RuleBook.compile(kb.rules, kb.zones, gazetteer)
        )
        self.facts: dict[str, AskableFact] = {f.fait: f for f in kb.faits}
        self.facts_by_id: dict[str, AskableFact] = {f.id: f for f in kb.faits}
        self._statuts_of_rule: dict[str, frozenset[str]] = {}
        self._statut_labels = {
            (s.id, lang): (s.libelle_en if lang == "en" and s.libelle_en else s.libelle)
            for s in kb.statuts
            for lang in ("fr", "en")
        }
        self._category_verdicts: Kept[tuple[str, Hashable], Verdict | None] = Kept(VERDICTS_KEPT)
        self._nearest_referents: Kept[tuple[tuple[str, ...], Commune], Proposal | None] = Kept(
            REFERENTS_KEPT
        )
        self._numbers_of_rule: dict[str, list[str]] = {}

    def places(self) -> Iterator[Place]:
        """Every place of its two indexes, services and referents."""
        yield from self.services.places()
        yield from self.referents.places()

    # --- facts and rules ------------------------------------------------------------------------

    def rule_facts(self, state: ConversationState) -> RuleFacts:
        f = state.facts
        month = self.today().month
        return RuleFacts(
            statuts=frozenset(f.statuts),
            statuts_connus=f.statuts_connus,
            commune=f.commune,
            mois_courant=month,
            **f.numbers,
        )

    def category_verdict(self, categorie: str, facts: RuleFacts) -> Verdict | None:
        """The pre-screen of a category by its own rule (services may have their own).

        Asked several times a turn (the trace, the question worth asking, the follow-up), and
        the same for everyone who said the same: kept."""
        key = (categorie, facts.key())
        return self._category_verdicts.get(key, lambda: self._category_verdict(categorie, facts))

    def _category_verdict(self, categorie: str, facts: RuleFacts) -> Verdict | None:
        cat = self.kb.categories.get(categorie)
        if (
            cat is None
            or not cat.regle_eligibilite
            or cat.regle_eligibilite not in self.rules.rules
        ):
            return None
        return self.rules.evaluate(
            cat.regle_eligibilite,
            facts,
            is_iae=categorie in IAE_CATEGORIES,
            service_zone=lambda _insee: True,
        )

    def eligibility(self, state: ConversationState, categories: Sequence[str]) -> dict[str, str]:
        """The pre-screen of every category (for the trace): undecided counts as to be checked."""
        facts = self.rule_facts(state)
        out: dict[str, str] = {}
        for cat in categories:
            verdict = self.category_verdict(cat, facts)
            if verdict is not None:
                out[cat] = verdict.result or "a_verifier"
        return out

    def fact_to_ask(
        self, state: ConversationState, categories: Sequence[str], *, can_refuse_only: bool
    ) -> AskableFact | None:
        """The one fact worth asking for these categories, or None (value of information).

        `can_refuse_only`: before the first answer, only a fact that may make a rule refuse.
        """
        facts = self.rule_facts(state)
        missing: list[str] = []
        for cat in categories:
            verdict = self.category_verdict(cat, facts)
            if verdict is None or verdict.result is not None:
                continue
            rule = self.rules.rules[verdict.rule_id]
            if can_refuse_only and (rule.si_faux != "non_eligible" or cat in IAE_CATEGORIES):
                continue
            missing += [m for m in verdict.missing if m not in missing]
        for name in sorted(missing, key=lambda m: self.facts[m].ordre if m in self.facts else 99):
            fact = self.facts.get(name)
            if fact is not None and fact.id not in state.asked and not state.facts.known(name):
                return fact
        return None

    def rule_of(self, place: Place) -> str | None:
        """The rule that pre-screens a place: its service's own, else its category's."""
        service = place.service
        if service is not None and service.eligibilite and service.eligibilite.regle:
            return service.eligibilite.regle
        cat = self.kb.categories.get(place.categorie)
        return cat.regle_eligibilite if cat is not None else None

    def verdict_for(self, proposal: Proposal, facts: RuleFacts, commune: Commune) -> Verdict | None:
        place = proposal.place
        rule_id = self.rule_of(place)
        if rule_id is None or rule_id not in self.rules.rules:
            return None
        zone_keys = place.zone_keys

        def in_service_zone(insee: str) -> bool:
            if not zone_keys:
                return True
            return bool({f"c:{insee}", f"d:{commune.dept}", f"e:{commune.epci}", "f"} & zone_keys)

        verdict = self.rules.evaluate(
            rule_id, facts, service_zone=in_service_zone, is_iae=place.categorie in IAE_CATEGORIES
        )
        if verdict.result is None:  # still unknown: the structure will see
            verdict = dataclasses.replace(verdict, result="a_verifier")
        return verdict

    def rule_statuts(self, rule_id: str) -> frozenset[str]:
        """The situations a rule counts, following the rules it refers to."""
        cached = self._statuts_of_rule.get(rule_id)
        if cached is None:
            found: set[str] = set()
            rule = self.rules.rules.get(rule_id)
            if rule is not None:
                _collect_statuts(rule.conditions, found, self)
            cached = self._statuts_of_rule[rule_id] = frozenset(found)
        return cached

    def rule_numbers(self, rule_id: str) -> list[str]:
        """The number facts a rule tests (following the rules it refers to), in asking order."""
        cached = self._numbers_of_rule.get(rule_id)
        if cached is None:
            found: set[str] = set()
            rule = self.rules.rules.get(rule_id)
            if rule is not None:
                _collect_facts(rule.conditions, found, self)
            cached = [f.fait for f in self.kb.faits if f.fait in found and f.type == "nombre"]
            self._numbers_of_rule[rule_id] = cached
        return cached

    def numbers_said(self, state: ConversationState, rule_id: str) -> str:
        """The numbers the person gave that a rule tests: "sans emploi depuis 7 mois"."""
        parts: list[str] = []
        lang = state.lang
        for name in self.rule_numbers(rule_id):
            value = state.facts.numbers.get(name)
            fact = self.facts.get(name)
            if value is None or fact is None:
                continue
            if fact.analyseur == "duree_mois":
                label = fact.libelle_en if lang == "en" else fact.libelle
                parts.append(f"{label} {months_text(value, lang)}")
            else:
                parts.append(
                    t(lang, "years_old", n=value) if fact.analyseur == "age" else str(value)
                )
        return ", ".join(parts)

    def statut_label(self, statut: str, lang: str) -> str:
        return self._statut_labels.get((statut, lang), statut)

    # --- search ---------------------------------------------------------------------------------

    def has_tzcld(self, commune: Commune) -> bool:
        meta = self.meta_for(commune)
        found = self.services.search(
            ["ebe_tzcld"], commune, meta.recherche.rayon_max_km, meta.recherche.rayon_max_km
        )
        return any(p.in_zone for p in found.proposals)

    def search(self, categories: Sequence[str], commune: Commune) -> SearchResult:
        """Eligible places near the commune, widened to the maximum radius if none."""
        recherche = self.meta_for(commune).recherche
        return self.services.search(
            categories, commune, recherche.rayon_defaut_km, recherche.rayon_max_km
        )

    def screen(
        self,
        state: ConversationState,
        proposals: Sequence[Proposal],
        commune: Commune,
        start: int,
        size: int,
    ) -> Screened:
        """Pre-screen proposals, keep the ones the person may enter, and route only one page.

        Only the page shown is routed (referent, reasons): the rest is counted.
        """
        facts = self.rule_facts(state)
        kept: list[tuple[Proposal, Verdict | None]] = []
        refused: dict[str, Verdict] = {}
        # A verdict depends on the person, the rule, the place's zone and whether it is IAE:
        # the places of one search share a handful of them.
        verdicts: dict[tuple[str | None, frozenset[str], bool], Verdict | None] = {}
        for proposal in self._ordered(state, proposals):
            place = proposal.place
            same = (self.rule_of(place), place.zone_keys, place.categorie in IAE_CATEGORIES)
            if same not in verdicts:
                verdicts[same] = self.verdict_for(proposal, facts, commune)
            verdict = verdicts[same]
            if verdict is not None and verdict.result == "non_eligible":
                refused.setdefault(proposal.place.categorie, verdict)
                continue
            kept.append((proposal, verdict))
        page = [self.routed(state, p, v, commune) for p, v in kept[start : start + size]]
        return Screened(page, len(kept), refused)

    def _ordered(self, state: ConversationState, proposals: Sequence[Proposal]) -> list[Proposal]:
        """Named categories first; then the need's own order for ties in kind (a salaried-job
        seeker sees the self-employment scheme EITI after the others), nearest first."""
        need = self.kb.needs.get(state.need or "")
        named = {c: i for i, c in enumerate(state.categories)}
        last = {"eiti"} if need is not None and "eiti" in need.categories else set()
        today = self.today()
        return sorted(
            proposals,
            key=lambda p: (
                named.get(p.place.categorie, 99),
                0 if in_season(p.place, today) else 1,  # a summer service, in winter: after
                1 if p.place.categorie in last and p.place.categorie not in named else 0,
                1 if p.distance_km is None else 0,
                p.distance_km or 0.0,
            ),
        )

    def routed(
        self,
        state: ConversationState,
        proposal: Proposal,
        verdict: Verdict | None,
        commune: Commune,
    ) -> Routed:
        reasons: tuple[str, ...] = ()
        if verdict is not None:
            counted = self.rule_statuts(verdict.rule_id)
            reasons = tuple(
                self.statut_label(s, state.lang) for s in state.facts.statuts if s in counted
            )
            said = self.numbers_said(state, verdict.rule_id)
            reasons += (said,) if said else ()
        referent = self.referent_name(state, proposal.place.categorie, commune)
        return Routed(proposal, verdict, referent, reasons)

    def alternatives(
        self, state: ConversationState, categories: Sequence[str], commune: Commune, limit: int
    ) -> list[Routed]:
        """The nearest eligible places of other categories, when the wanted one is out of reach."""
        if not categories:
            return []
        found = self.search(categories, commune)
        return self.screen(state, found.proposals, commune, 0, limit).routed

    def rule_alternatives(self, rule_ids: Sequence[str]) -> list[str]:
        """The categories the rules suggest instead (`alternatives`), without repeats."""
        out: list[str] = []
        for rule_id in rule_ids:
            rule = self.rules.rules.get(rule_id)
            out += [a for a in (rule.alternatives if rule else []) if a not in out]
        return out

    # --- metas and referents ----------------------------------------------------------------------

    def home_meta(self) -> Meta | None:
        return self.kb.metas.get(self.home) or next(iter(self.kb.metas.values()), None)

    def meta_for(self, commune: Commune | None) -> Meta:
        meta = (self.kb.metas.get(commune.dept) if commune else None) or self.home_meta()
        if meta is None:
            raise LookupError("the knowledge base has no département file")
        return meta

    def referent_name(
        self, state: ConversationState, categorie: str, commune: Commune
    ) -> str | None:
        cat = self.kb.categories.get(categorie)
        if cat is None or cat.acces_par_defaut.prescription == "non" or not cat.orienteurs:
            return None
        preferred = self.preferred_referents(state)
        kinds = [k for k in preferred if k in cat.orienteurs] + list(cat.orienteurs)
        return self.nearest_referent(kinds, commune)

    def referent_for_person(self, state: ConversationState, commune: Commune) -> str | None:
        kinds = [*self.preferred_referents(state), "france_travail", "france_services"]
        return self.nearest_referent(kinds, commune)

    def preferred_referents(self, state: ConversationState) -> list[str]:
        facts = state.facts
        kinds = [k for statut, k in REFERENT_BY_STATUT if statut in facts.statuts]
        age = facts.age
        if age is not None and age < 16:
            kinds.append("pij")  # Missions locales start at 16
        if age is not None and age in YOUTH_AGES:
            kinds.append("mission_locale")
        return kinds

    def youth_without_follow_up(self, state: ConversationState) -> bool:
        """16 to 25, and not already followed by a Mission locale: it comes first."""
        age = state.facts.age
        return age is not None and age in YOUTH_AGES and "mission_locale" not in state.followed_by

    def nearest_referent(self, kinds: Sequence[str], commune: Commune) -> str | None:
        found = self.nearest_referent_place(tuple(dict.fromkeys(kinds)), commune)
        return None if found is None else found.place.structure.nom

    def nearest_referent_place(self, kinds: tuple[str, ...], commune: Commune) -> Proposal | None:
        """The nearest referent of the first kind that has one in the person's territory."""
        key = (kinds, commune)
        return self._nearest_referents.get(key, lambda: self._nearest_referent_place(*key))

    def _nearest_referent_place(self, kinds: tuple[str, ...], commune: Commune) -> Proposal | None:
        meta = self.meta_for(commune)
        for kind in kinds:
            found = self.referents.nearest(
                [kind], commune, meta.recherche.rayon_max_km, commune.dept
            )
            if found is not None:
                return found
        return None


def in_season(place: Place, today: dt.date) -> bool:
    """Whether a seasonal service (`periode`) runs today; a service without one always does."""
    periode = place.service.periode if place.service is not None else None
    if periode is None:
        return True
    if (periode.du and today < periode.du) or (periode.au and today > periode.au):
        return False
    return not periode.mois or today.month in periode.mois


def _collect_statuts(node: Any, found: set[str], orientation: Orientation) -> None:
    if isinstance(node, dict):
        if node.get("fait") == "statuts":
            value = node.get("contient") or node.get("contient_un_de") or []
            found.update([value] if isinstance(value, str) else value)
        if isinstance(node.get("regle"), str):
            found.update(orientation.rule_statuts(node["regle"]))
        for child in node.values():
            if isinstance(child, list | dict):
                _collect_statuts(child, found, orientation)
    elif isinstance(node, list):
        for child in node:
            _collect_statuts(child, found, orientation)


def _collect_facts(node: Any, found: set[str], orientation: Orientation) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("fait"), str):
            found.add(node["fait"])
        if isinstance(node.get("regle"), str):
            rule = orientation.rules.rules.get(node["regle"])
            if rule is not None:
                _collect_facts(rule.conditions, found, orientation)
        for child in node.values():
            if isinstance(child, list | dict):
                _collect_facts(child, found, orientation)
    elif isinstance(node, list):
        for child in node:
            _collect_facts(child, found, orientation)


def months_text(months: int, lang: str) -> str:
    """ "7 mois", "2 ans", "8 ans et 5 mois"."""
    if months < 24:
        return t(lang, "months", n=months)
    years, rest = divmod(months, 12)
    return t(lang, "years_months", y=years, m=rest) if rest else t(lang, "years", y=years)
