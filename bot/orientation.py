"""Where to send a person: eligibility pre-screen, search, referents. No wording here.

Built once per knowledge base (indexes, compiled rules); every method is a pure computation on
the conversation state, used by the dialogue to decide what to ask and what to propose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import Meta
from bot.kb.vocab import IAE_CATEGORIES
from bot.places import Commune, Gazetteer
from bot.present import Routed, deciders_text, proposal_text
from bot.ranking import Proposal, SearchResult, build_indexes
from bot.rules import Facts as RuleFacts
from bot.rules import RuleBook, Verdict
from bot.state import ConversationState

# Rule facts → the id of the question in the trace (design.md "facts the bot may ask").
ASKING_ID = {
    "commune": "commune",
    "age": "age",
    "statuts": "situation",
    "sans_emploi_mois": "duree_sans_emploi",
    "residence_depuis_mois": "residence_depuis",
}
REQUIRED_ID = {
    "situation": "statuts",
    "duree_sans_emploi": "sans_emploi_mois",
    "residence_depuis": "residence_depuis_mois",
    "age": "age",
    "commune": "commune",
}
ASKING_ORDER = ("commune", "statuts", "age", "sans_emploi_mois", "residence_depuis_mois")
REFERENT_BY_STATUT = (("RQTH", "cap_emploi"), ("RSA", "referent_rsa"))


@dataclass(frozen=True, slots=True)
class Screened:
    """Proposals after the eligibility pre-screen."""

    routed: list[Routed]  # shown, nearest first (named categories first when there are any)
    verdicts: dict[str, str]  # the pre-screen result of each category, for the trace
    refused: dict[str, Verdict]  # categories the person is probably not eligible for


class Orientation:
    def __init__(
        self,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        home_departement: str,
        today: dt.date | None = None,
    ) -> None:
        self.kb = kb
        self.gazetteer = gazetteer
        self.home = home_departement
        self.today = today
        self.services, self.referents = build_indexes(kb, gazetteer)
        self.rules = RuleBook.compile(kb.rules, kb.zones, gazetteer)
        self._statuts_of_rule: dict[str, frozenset[str]] = {}

    def missing_fact(
        self,
        state: ConversationState,
        required: Sequence[str],
        categories: Sequence[str],
        commune: Commune,
    ) -> str | None:
        """The next fact to ask: what the need requires, then what a rule cannot decide without.

        The situation comes before the age: it alone often settles a rule (RSA for the IAE).
        """
        facts = self.rule_facts(state)
        wanted: list[str] = [REQUIRED_ID.get(f, f) for f in required if f != "commune"]
        undecided: list[str] = []
        for cat in categories:
            for verdict in self.verdicts_for_category(cat, facts, commune):
                if verdict.result is None:
                    undecided += [m for m in verdict.missing if m not in undecided]
        undecided.sort(key=lambda fact: ASKING_ORDER.index(fact) if fact in ASKING_ORDER else 99)
        wanted += [fact for fact in undecided if fact not in wanted]
        for fact in wanted:
            asking = ASKING_ID.get(fact)
            if asking is None or asking in state.asked:
                continue
            if self.fact_known(state, fact) and not (fact == "statuts" and fact in undecided):
                continue
            return asking
        return None

    def verdicts_for_category(
        self, categorie: str, facts: RuleFacts, commune: Commune
    ) -> list[Verdict]:
        cat = self.kb.categories.get(categorie)
        if (
            cat is None
            or not cat.regle_eligibilite
            or cat.regle_eligibilite not in self.rules.rules
        ):
            return []
        return [
            self.rules.evaluate(
                cat.regle_eligibilite,
                facts,
                is_iae=categorie in IAE_CATEGORIES,
                service_zone=lambda _insee: True,
            )
        ]

    def fact_known(self, state: ConversationState, fact: str) -> bool:
        facts = state.facts
        return {
            "age": facts.age is not None,
            "statuts": facts.statuts_connus or bool(facts.statuts),
            "sans_emploi_mois": facts.sans_emploi_mois is not None,
            "residence_depuis_mois": facts.residence_depuis_mois is not None,
            "commune": facts.commune is not None,
        }.get(fact, True)

    def verdict_for(self, proposal: Proposal, facts: RuleFacts, commune: Commune) -> Verdict | None:
        place = proposal.place
        service = place.service
        cat = self.kb.categories.get(place.categorie)
        rule_id = None
        if service is not None and service.eligibilite and service.eligibilite.regle:
            rule_id = service.eligibilite.regle
        elif cat is not None:
            rule_id = cat.regle_eligibilite
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
        if verdict.result is None:  # asked already and still unknown: the structure will see
            verdict = Verdict(
                verdict.rule_id,
                "a_verifier",
                verdict.missing,
                verdict.explanation,
                verdict.decide_par,
                verdict.question,
            )
        return verdict

    def has_tzcld(self, commune: Commune) -> bool:
        meta = self.meta_for(commune)
        found = self.services.search(
            ["ebe_tzcld"], commune, meta.recherche.rayon_max_km, meta.recherche.rayon_max_km
        )
        return any(p.in_zone for p in found.proposals)

    def rule_facts(self, state: ConversationState) -> RuleFacts:
        f = state.facts
        month = (self.today or dt.date.today()).month
        return RuleFacts(
            age=f.age,
            statuts=frozenset(f.statuts),
            statuts_connus=f.statuts_connus,
            sans_emploi_mois=f.sans_emploi_mois,
            residence_depuis_mois=f.residence_depuis_mois,
            commune=f.commune,
            mois_courant=month,
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
        referent = self.referent_name(state, proposal.place.categorie, commune)
        return Routed(proposal, verdict, referent, reasons)

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

    def listing(self, routed: Sequence[Routed], start: int, lang: str) -> list[str]:
        """One paragraph per structure, then who decides (said once)."""
        lines = [proposal_text(self.kb, r, start + i + 1, lang) for i, r in enumerate(routed)]
        deciders = deciders_text([r.verdict for r in routed], lang)
        return [*lines, deciders] if deciders else lines

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
        if facts.age is not None and facts.age < 16:
            kinds.append("pij")  # Missions locales start at 16
        if facts.age is not None and facts.age < 26:
            kinds.append("mission_locale")
        return kinds

    def nearest_referent(self, kinds: Sequence[str], commune: Commune) -> str | None:
        found = self.nearest_referent_place(kinds, commune)
        return None if found is None else found.place.structure.nom

    def nearest_referent_place(self, kinds: Sequence[str], commune: Commune) -> Proposal | None:
        """The nearest referent of the first kind that has one within the maximum radius."""
        meta = self.meta_for(commune)
        for kind in dict.fromkeys(kinds):
            found = self.referents.nearest([kind], commune, meta.recherche.rayon_max_km)
            if found is not None:
                return found
        return None

    def statut_label(self, statut: str, lang: str) -> str:
        for entry in self.kb.statuts:
            if entry.id == statut:
                return entry.libelle_en if (lang == "en" and entry.libelle_en) else entry.libelle
        return statut

    def search(self, categories: Sequence[str], commune: Commune) -> SearchResult:
        """Eligible places near the commune, widened to the maximum radius if none."""
        meta = self.meta_for(commune)
        recherche = meta.recherche
        return self.services.search(
            categories, commune, recherche.rayon_defaut_km, recherche.rayon_max_km
        )

    def screen(
        self, state: ConversationState, proposals: Sequence[Proposal], commune: Commune
    ) -> Screened:
        """Pre-screen each proposal; the ones the person is probably not eligible for go apart."""
        facts = self.rule_facts(state)
        routed: list[Routed] = []
        verdicts: dict[str, str] = {}
        refused: dict[str, Verdict] = {}
        for proposal in proposals:
            verdict = self.verdict_for(proposal, facts, commune)
            cat = proposal.place.categorie
            if verdict is not None and verdict.result is not None:
                verdicts.setdefault(cat, verdict.result)
            if verdict is not None and verdict.result == "non_eligible":
                refused.setdefault(cat, verdict)
                continue
            routed.append(self.routed(state, proposal, verdict, commune))
        if state.categories:
            order = {c: i for i, c in enumerate(state.categories)}
            routed.sort(
                key=lambda r: (
                    order.get(r.proposal.place.categorie, 99),
                    r.proposal.distance_km or 0,
                )
            )
        return Screened(routed, verdicts, refused)

    def alternatives(
        self, state: ConversationState, categories: Sequence[str], commune: Commune, limit: int
    ) -> list[Routed]:
        """The nearest eligible places of other categories, when the wanted one is out of reach."""
        if not categories:
            return []
        found = self.search(categories, commune)
        return self.screen(state, found.proposals, commune).routed[:limit]

    def rule_alternatives(self, rule_ids: Sequence[str]) -> list[str]:
        """The categories the rules suggest instead (`alternatives`), without repeats."""
        out: list[str] = []
        for rule_id in rule_ids:
            rule = self.rules.rules.get(rule_id)
            out += [a for a in (rule.alternatives if rule else []) if a not in out]
        return out


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
