"""The orientation: ask the one fact that changes what is shown, or show the structures, or
explain a refusal with the best alternative.

In order: the commune (and which one, for homonyms) → a zéro-chômeur need outside any
territory → one question before the first answer, only for a fact that can make a rule refuse
(value of information, bot/orientation.py) → the structures near the commune, nearest first,
with their pre-screen → at most one follow-up question, for a fact that can change the
pre-screen of what was shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.questions import commune_question, question
from bot.conversation.state import ConversationState
from bot.kb.models import AskableFact
from bot.messages import Choice, StructureCard
from bot.orientation import Routed, Screened
from bot.places import Commune
from bot.present import (
    card,
    category_name,
    deciders_text,
    faq_text,
    first_sentence,
    km,
    labelled,
    listing,
    refusal_text,
    trace_entry,
    why_line,
    why_text,
)
from bot.store import UsageEvent
from bot.text import inside_a_sentence
from bot.texts import t

MAX_QUESTIONS = 2  # per need: one before the first answer, one follow-up (commune excluded)
YOUTH_NEEDS = frozenset({"emploi_insertion", "emploi_handicap", "creation_activite"})
BEYOND_KM = 150  # how far to look for the nearest one when none is near


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    need_id = state.need
    if need_id is None or need_id not in services.kb.needs or not turn.moves_orientation:
        return None
    new = state.copy()
    lang = new.lang
    if new.pending_communes:
        return _ask_which_commune(new, services)
    commune = services.commune(new)
    if commune is None:
        return _ask_commune(new, need_id, hint=_commune_hint(frame, lang))
    need = services.kb.needs[need_id]
    categories = new.categories or list(need.categories)
    eligibility = services.orientation.eligibility(new, need.categories)
    if need_id == "emploi_territoire" and not services.orientation.has_tzcld(commune):
        return _no_territory(new, commune, services, turn)
    result = services.orientation.search(categories, commune)
    found = [c for c in categories if any(p.place.categorie == c for p in result.proposals)]
    if not new.results_shown and new.questions == 0:
        fact = services.orientation.fact_to_ask(new, found, can_refuse_only=True)
        if fact is not None:
            return _ask_fact(new, fact, services, need=need_id, eligibility=eligibility)
    size = services.settings.max_resultats
    start = new.page * size
    screened = services.orientation.screen(new, result.proposals, commune, start, size)
    if not screened.routed:
        if new.page > 0:
            new.page -= 1
            return Act(new, t(lang, "no_more"), _after_choices(new, [], False, services),
                       need=need_id, eligibility=eligibility)  # fmt: skip
        if screened.refused:
            return _refusal(new, commune, screened, services, eligibility, turn)
        return _none_near(new, commune, categories, result.radius_km, services, eligibility, turn)
    same_list = [r.proposal.place.key for r in screened.routed] == new.shown
    if turn.facts_only and new.results_shown and same_list and not screened.refused:
        return _prescreen_update(new, screened, services, eligibility)
    return _results(new, commune, screened, result.widened, services, turn, eligibility)


def _prescreen_update(
    state: ConversationState, screened: Screened, services: Services, eligibility: dict[str, str]
) -> Act:
    """The answer to the follow-up changes the pre-screen of the list just shown: say only that."""
    lang = state.lang
    commune = services.commune(state)
    lines = [t(lang, "prescreen_update", commune=commune.name if commune else "")]
    lines += list(dict.fromkeys(why_line(r, lang) for r in screened.routed if why_line(r, lang)))
    deciders = deciders_text([r.verdict for r in screened.routed], lang)
    if deciders:
        lines.append(deciders)
    state.asking = None
    return Act(
        state,
        "\n".join(lines),
        _after_choices(state, screened.routed, screened.total > len(screened.routed), services),
        need=state.need,
        trace_structures=[trace_entry(r) for r in screened.routed],  # the list it is about
        eligibility=eligibility,
    )


# --- questions -----------------------------------------------------------------------------


def _ask_commune(state: ConversationState, need: str, hint: str = "") -> Act:
    lang = state.lang
    state.asking = "commune"
    return Act(state, f"{hint}\n{commune_question(lang)}".strip(), request_location=True, need=need)


def _commune_hint(frame: Frame, lang: str) -> str:
    tried = any(p.resolution.status == "not_found" for p in frame.places)
    return t(lang, "commune_not_found") if tried else ""


def _ask_which_commune(state: ConversationState, services: Services) -> Act:
    lang = state.lang
    state.asking = "confirmation_commune"
    communes = [c for c in (services.gazetteer.get(i) for i in state.pending_communes) if c]
    choices = [Choice(f"commune:{c.insee}", f"{c.name} ({c.dept})") for c in communes]
    choices.append(Choice("commune:none", t(lang, "commune_none_of_these")))
    return Act(state, t(lang, "commune_which"), choices, need=state.need)


def _ask_fact(
    state: ConversationState,
    fact: AskableFact,
    services: Services,
    *,
    need: str,
    eligibility: dict[str, str],
    intro: str = "",
) -> Act:
    text, choices = question(fact, state, services)
    state.asking = fact.id
    state.questions += 1
    if fact.id not in state.asked:
        state.asked.append(fact.id)
    return Act(
        state,
        f"{intro}\n\n{text}".strip(),
        choices,
        need=need,
        eligibility=eligibility,
    )


# --- results ---------------------------------------------------------------------------------


def _results(
    state: ConversationState,
    commune: Commune,
    screened: Screened,
    widened: bool,
    services: Services,
    turn: TurnInfo,
    eligibility: dict[str, str],
) -> Act:
    lang = state.lang
    kb = services.kb
    first_time = not state.results_shown
    paragraphs: list[str] = []
    before = ""
    faq: list[str] = []
    shown: list[Routed] = list(screened.routed)
    kinds = [r.proposal.place.categorie for r in shown]
    explanation = (
        explanation_for(kinds, state, services) if first_time and not turn.answered else None
    )
    if explanation is not None:
        faq.append(explanation)
        state.faq_seen.append(explanation)
        before = faq_text(kb.faq[explanation], lang, short=True)
    youth: list[Routed] = []
    if (
        state.page == 0
        and state.need in YOUTH_NEEDS
        and services.orientation.youth_without_follow_up(state)
    ):
        youth = _mission_locale(commune, services)
    if widened:
        radius = services.orientation.meta_for(commune).recherche.rayon_defaut_km
        paragraphs.append(t(lang, "results_widened", rayon=f"{radius:g}"))
    else:
        paragraphs.append(t(lang, "results_intro", commune=commune.name))
    if youth:
        paragraphs[-1] += "\n" + t(lang, "youth_first", nom=youth[0].proposal.place.structure.nom)
    start = state.page * services.settings.max_resultats
    paragraphs[-1] += "\n" + listing(kb, shown, start, lang, services.clock())
    for categorie, verdict in screened.refused.items():
        paragraphs.append(refusal_text(kb, categorie, verdict, lang))
    state.results_shown = True
    state.shown = [r.proposal.place.key for r in shown]
    state.asking = None
    more = screened.total > (state.page + 1) * services.settings.max_resultats
    choices = _after_choices(state, shown, more, services)
    follow_up = _follow_up(state, shown, services)
    if follow_up is not None:
        text, question_choices = question(follow_up, state, services)
        if turn.settled is None:
            # Everything came in one message: answer it, and only offer to say more.
            en = lang == "en"
            paragraphs.append(follow_up.invitation_en if en else follow_up.invitation)
            choices = [c for c in question_choices if c.id != "skip"] + choices
        else:  # the person is answering questions: one more is natural
            paragraphs.append(text)
            state.asking = follow_up.id
            choices = question_choices
        state.questions += 1
        if follow_up.id not in state.asked:
            state.asked.append(follow_up.id)
    everything = [*youth, *shown]
    usage = [
        UsageEvent("orientation", state.need, r.proposal.place.categorie, commune.dept,
                   state.referral)
        for r in shown
    ]  # fmt: skip
    return Act(
        state,
        "\n\n".join(paragraphs),
        choices,
        before=before,
        structures=[card(r) for r in everything],
        need=state.need,
        faq=faq,
        trace_structures=[trace_entry(r) for r in everything],
        eligibility=eligibility,
        usage=usage,
    )


def explanation_for(
    categories: Sequence[str], state: ConversationState, services: Services
) -> str | None:
    """The FAQ that says what the first of these kinds of structure is, if not said yet."""
    for categorie in categories[:1]:
        cat = services.kb.categories.get(categorie)
        for faq_id in cat.faq[:1] if cat else []:
            if faq_id in services.kb.faq and faq_id not in state.faq_seen:
                return faq_id
    return None


def _follow_up(
    state: ConversationState, shown: Sequence[Routed], services: Services
) -> AskableFact | None:
    if state.questions >= MAX_QUESTIONS or state.page > 0:
        return None
    categories = list(dict.fromkeys(r.proposal.place.categorie for r in shown))
    return services.orientation.fact_to_ask(state, categories, can_refuse_only=False)


def _mission_locale(commune: Commune, services: Services) -> list[Routed]:
    found = services.orientation.nearest_referent_place(("mission_locale",), commune)
    return [] if found is None else [Routed(found, None, None)]


def _after_choices(
    state: ConversationState, shown: Sequence[Routed], more: bool, services: Services
) -> list[Choice]:
    lang = state.lang
    choices = [Choice(f"info:{i}", t(lang, "more_info_on", n=i)) for i in range(1, len(shown) + 1)]
    if more:
        choices.append(Choice("more", t(lang, "more")))
    for routed in shown:
        cat = services.kb.categories.get(routed.proposal.place.categorie)
        for faq_id in (cat.faq if cat else [])[:2]:
            choice = Choice(f"faq:{faq_id}", services.faq_question(faq_id, lang))
            if faq_id in services.kb.faq and faq_id not in state.faq_seen and choice not in choices:
                choices.append(choice)
                break
        if len(choices) >= 2:
            break
    return choices + services.human_choices(lang)


# --- nothing to show ---------------------------------------------------------------------------


def _refusal(
    state: ConversationState,
    commune: Commune,
    screened: Screened,
    services: Services,
    eligibility: dict[str, str],
    turn: TurnInfo,
) -> Act:
    """Out of reach (a CJS at 15): say so kindly, then the best alternatives and a referent."""
    lang = state.lang
    kb = services.kb
    lines = [
        refusal_text(kb, c, v, lang, said=services.orientation.numbers_said(state, v.rule_id))
        for c, v in screened.refused.items()
    ]
    instead = services.orientation.rule_alternatives([v.rule_id for v in screened.refused.values()])
    shown = services.orientation.alternatives(state, instead, commune, limit=2)
    act = _instead(state, commune, lines, shown, services, eligibility)
    return _with_explanation(act, list(screened.refused), services, turn)


def _no_territory(
    state: ConversationState, commune: Commune, services: Services, turn: TurnInfo
) -> Act:
    """No zéro-chômeur territory here: say so, then the nearest IAE structures."""
    lang = state.lang
    state.categories = []
    lines = [t(lang, "tzcld_outside", commune=commune.name)]
    instead = services.orientation.rule_alternatives(["tzcld"]) or ["aci", "ei", "ai"]
    size = services.settings.max_resultats
    shown = services.orientation.alternatives(state, instead, commune, size)
    act = _instead(state, commune, lines, shown, services, {"ebe_tzcld": "non_eligible"})
    return _with_explanation(act, ["ebe_tzcld"], services, turn)


def _with_explanation(
    act: Act, categories: Sequence[str], services: Services, turn: TurnInfo
) -> Act:
    """The first time, one or two sentences on what the scheme is, before the rest."""
    faq_id = None if turn.answered else explanation_for(categories, act.state, services)
    if faq_id is None:
        return act
    act.state.faq_seen.append(faq_id)
    act.faq.append(faq_id)
    act.before = faq_text(services.kb.faq[faq_id], act.state.lang, short=True)
    return act


def _instead(
    state: ConversationState,
    commune: Commune,
    lines: list[str],
    shown: list[Routed],
    services: Services,
    eligibility: dict[str, str],
) -> Act:
    lang = state.lang
    if shown:
        now = services.clock()
        lines.append(t(lang, "alternatives") + "\n" + listing(services.kb, shown, 0, lang, now))
    referent = services.orientation.referent_for_person(state, commune)
    if referent and not any(referent in line for line in lines):
        lines.append(t(lang, "results_none_referent", referent=referent))
    state.results_shown = True
    state.asking = None
    state.shown = [r.proposal.place.key for r in shown]
    return Act(
        state,
        "\n\n".join(lines),
        _after_choices(state, shown, False, services),
        structures=[card(r) for r in shown],
        need=state.need,
        trace_structures=[trace_entry(r) for r in shown],
        eligibility=eligibility,
    )


def _none_near(
    state: ConversationState,
    commune: Commune,
    categories: Sequence[str],
    radius_km: float,
    services: Services,
    eligibility: dict[str, str],
    turn: TurnInfo,
) -> Act:
    """None within the radius: say so, the pre-screen in words, the nearest one, a referent."""
    lang = state.lang
    kb = services.kb
    names = [category_name(kb, c, lang) for c in categories[:3]]
    kinds = ", ".join(inside_a_sentence(n) for n in names)
    lines = [t(lang, "results_none", kind=kinds, max=f"{radius_km:g}", commune=commune.name)]
    facts = services.orientation.rule_facts(state)
    for cat in categories[:1]:
        verdict = services.orientation.category_verdict(cat, facts)
        why = why_text(verdict, lang) if verdict and verdict.result else ""
        if why:
            lines.append(labelled(lang, "why", first_sentence(why)))
    far = services.orientation.services.search(categories, commune, BEYOND_KM, BEYOND_KM).proposals
    shown: list[Routed] = []
    if far:
        shown = [services.orientation.routed(state, far[0], None, commune)]
        place = far[0].place
        lines.append(
            t(lang, "nearest_far", nom=place.structure.nom, km=km(far[0].distance_km, lang))
        )
    referent = services.orientation.referent_for_person(state, commune)
    if referent:
        lines.append(t(lang, "results_none_referent", referent=referent))
    state.results_shown = True
    state.asking = None
    structures: list[StructureCard] = [card(r) for r in shown]
    act = Act(
        state,
        "\n".join(lines),
        _after_choices(state, [], False, services),
        structures=structures,
        need=state.need,
        trace_structures=[trace_entry(r) for r in shown],
        eligibility=eligibility,
    )
    return _with_explanation(act, list(categories), services, turn)
