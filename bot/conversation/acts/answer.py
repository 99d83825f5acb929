"""The answer to a question: a FAQ (short when an orientation follows), the nearest referent
("où est la mission locale ?"), an out-of-scope topic, "did you mean …?", or "merci".

A FAQ is answered when the best match is clear: high enough, and not too close to the second.
A sentence that is not phrased as a question needs a higher score, so that "je cherche un
garage solidaire" orients to garages instead of explaining them.
"""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.messages import Choice
from bot.orientation import Routed
from bot.present import faq_text, head_line
from bot.store import UsageEvent
from bot.texts import t

NOT_A_QUESTION_MARGIN = 6  # extra points a statement needs to be taken as a FAQ question
SURE = 97  # above this, two close FAQ scores are not ambiguous


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    if frame.faq_pick:
        return _faq(frame.faq_pick, state, services, short=False, information=state.need is None)
    referent = _referent_question(frame, state)
    if referent is not None:
        return _nearest_referent(referent, state, services)
    orienting = not turn.information_only and state.need is not None
    if frame.out_of_scope and not frame.needs and state.need is None:
        # before a FAQ: "une demande de naturalisation : quels papiers il faut ?" is not about
        # the papers for a structure
        return _out_of_scope(frame.out_of_scope, state, services)
    each = _one_per_question(frame, services)
    if len(each) > 1 and not orienting:
        return _faqs(each, state, services)
    faq_id = clear_faq(frame, services, state.need)
    if faq_id is not None:
        if orienting and faq_id in state.faq_seen:
            return None
        return _faq(faq_id, state, services, short=orienting, information=not orienting)
    if turn.information_only and _ambiguous_faq(frame, services):
        return _did_you_mean(frame, state, services)
    if frame.thanks and frame.words <= 6 and not frame.needs and not frame.places:
        new = state.copy()
        return Act(new, t(new.lang, "thanks_reply"), services.human_choices(new.lang))
    return None


def clear_faq(frame: Frame, services: Services, current_need: str | None = None) -> str | None:
    """The FAQ the message asks about, when the match is clear (a question about the need
    being talked about needs less: "c'est payé combien ?" after chantiers)."""
    if not frame.faq:
        return None
    top = frame.faq[0]
    high = services.settings.faq_seuil_haut
    strong = (frame.is_question and top.score >= high) or (
        not frame.needs and top.score >= high + NOT_A_QUESTION_MARGIN
    )
    about_need = (
        frame.is_question
        and top.score >= services.settings.faq_seuil_bas
        and _about_heard_need(top.id, frame, services, current_need)
    )
    # two close answers about the need being oriented: the better one, no question about it
    # ("on peut travailler en chantier quand on touche le RSA ?" while orienting to chantiers)
    return top.id if about_need or (strong and not _too_close(frame, services)) else None


def _about_heard_need(
    faq_id: str, frame: Frame, services: Services, current_need: str | None
) -> bool:
    categories = set(services.kb.faq[faq_id].categories)
    needs = [s.id for s in frame.needs[:1]] + ([current_need] if current_need else [])
    for need_id in needs:
        need = services.kb.needs.get(need_id)
        if need is not None and categories & set(need.categories):
            return True
    return bool(categories & set(frame.categories))


def _too_close(frame: Frame, services: Services) -> bool:
    if len(frame.faq) < 2:
        return False
    gap = frame.faq[0].score - frame.faq[1].score
    return gap < services.settings.ecart_ambiguite and frame.faq[0].score < SURE


def _one_per_question(frame: Frame, services: Services) -> list[str]:
    """Two questions in one message whose two best FAQs, too close to choose between, are each
    the clear subject of one question ("le PASS IAE, ça veut dire quoi ? et ça dure combien de
    temps ?"): both are answered."""
    high = services.settings.faq_seuil_haut
    tops = [s for s in frame.faq[:2] if s.score >= high]
    subjects = {s.id for s in frame.faq_each}
    if len(tops) < 2 or not all(s.id in subjects for s in tops):
        return []
    return [s.id for s in tops]


def _faqs(faq_ids: list[str], state: ConversationState, services: Services) -> Act:
    first, *others = (_faq(i, state, services, short=False, information=True) for i in faq_ids)
    new = first.state
    for faq_id in faq_ids:
        if faq_id not in new.faq_seen:
            new.faq_seen.append(faq_id)
    text = "\n\n".join([first.text, *(o.text for o in others)])
    usage = [u for a in (first, *others) for u in a.usage]
    return Act(new, text, first.choices, need="information", faq=faq_ids, usage=usage)


def _ambiguous_faq(frame: Frame, services: Services) -> bool:
    return bool(frame.faq) and frame.faq[0].score >= services.settings.faq_seuil_bas


def _faq(
    faq_id: str, state: ConversationState, services: Services, *, short: bool, information: bool
) -> Act:
    new = state.copy()
    lang = new.lang
    faq = services.kb.faq[faq_id]
    new.pending_faq = []
    if faq_id not in new.faq_seen:
        new.faq_seen.append(faq_id)
    usage = [UsageEvent(kind="faq", categorie=faq_id, departement=services.departement(new))]
    choices: list[Choice] = []
    if not short:
        choices = _related_needs(faq_id, new, services) + services.human_choices(lang)
    return Act(
        new,
        faq_text(faq, lang, short=short),
        choices,
        need="information" if information else None,
        faq=[faq_id],
        usage=usage,
    )


def _related_needs(faq_id: str, state: ConversationState, services: Services) -> list[Choice]:
    """One or two needs to orient to after an answer (the current one first)."""
    lang = state.lang
    if state.need:
        return [Choice(f"need:{state.need}", services.need_label(state.need, lang))]
    choices: list[Choice] = []
    for cat_id in services.kb.faq[faq_id].categories:
        for need in services.kb.needs.values():
            choice = Choice(f"need:{need.id}", services.need_label(need.id, lang))
            if cat_id in need.categories and choice not in choices:
                choices.append(choice)
                break
        if len(choices) >= 2:
            break
    return choices


def _did_you_mean(frame: Frame, state: ConversationState, services: Services) -> Act:
    new = state.copy()
    lang = new.lang
    low = services.settings.faq_seuil_bas
    options = [s.id for s in frame.faq[:3] if s.score >= low - 5]
    new.pending_faq = options
    choices = [Choice(f"faq:{f}", services.faq_question(f, lang)) for f in options]
    choices.append(Choice("menu", t(lang, "none_of_these")))
    return Act(new, t(lang, "did_you_mean"), choices, need="information")


def _out_of_scope(topic: str, state: ConversationState, services: Services) -> Act:
    new = state.copy()
    lang = new.lang
    entry = next(h for h in services.kb.national.hors_perimetre if h.id == topic)
    text = entry.reponse_en if (lang == "en" and entry.reponse_en) else entry.reponse
    usage = [
        UsageEvent(kind="hors_perimetre", categorie=topic, departement=services.departement(new))
    ]
    return Act(new, text.strip(), services.menu(lang), need="hors_perimetre", usage=usage)


def _referent_question(frame: Frame, state: ConversationState) -> str | None:
    """ "Où est la mission locale ?" (or the commune given after it was asked for that)."""
    if frame.referents and frame.wants_place and not frame.needs:
        return frame.referents[0]
    if state.referent_wanted and state.need is None and state.facts.commune:
        return state.referent_wanted
    return None


def _nearest_referent(kind: str, state: ConversationState, services: Services) -> Act:
    new = state.copy()
    lang = new.lang
    commune = services.commune(new)
    if commune is None:
        new.referent_wanted = kind
        new.asking = "commune"
        text = t(lang, "ask_commune") + " " + t(lang, "ask_commune_location")
        return Act(new, text, request_location=True, need="information")
    new.referent_wanted = None
    if new.asking == "commune":
        new.asking = None
    cat = services.kb.categories.get(kind)
    label = (cat.libelle_en if lang == "en" and cat.libelle_en else cat.libelle) if cat else kind
    found = services.orientation.nearest_referent_place((kind,), commune)
    if found is None:
        text = t(lang, "referent_none", kind=label, commune=commune.name)
        return Act(new, text, services.menu(lang), need="information")
    routed = Routed(found, None, None)
    lines = [t(lang, "referent_found", kind=label, commune=commune.name)]
    lines.append(head_line(services.kb, routed, 1, lang))
    structure = found.place.structure
    contact = " · ".join(p for p in (structure.adresse, structure.telephone) if p)
    if contact:
        lines.append(f"   {contact}")
    from bot.present import card, trace_entry

    return Act(
        new,
        "\n".join(lines),
        services.human_choices(lang),
        structures=[card(routed)],
        need="information",
        trace_structures=[trace_entry(routed)],
    )
