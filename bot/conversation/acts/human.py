"""A person, not a bot: who to contact, and a call-back request with explicit consent."""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.messages import Choice
from bot.store import CallbackRequest, UsageEvent
from bot.texts import t


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    lang = state.lang
    if frame.choice == "cb:ask":
        return _ask_consent(state)
    if state.asking == "consentement" or frame.choice in ("cb:yes", "cb:no"):
        if frame.choice == "cb:yes" or (frame.choice is None and frame.yes):
            new = state.copy()
            new.asking = "telephone"
            return Act(new, t(lang, "callback_ask_phone"), final=True)
        if frame.choice == "cb:no" or frame.no:
            return _declined(state, services)
    if state.asking == "telephone":
        if frame.phone is not None:
            return _record(state, frame.phone, services)
        if frame.no or frame.skip:
            return _declined(state, services)
        if not (frame.needs or frame.is_question or frame.command):
            return Act(state.copy(), t(lang, "callback_bad_phone"), final=True)
    if frame.asks_human or frame.command == "human":
        return _offer(state, services)
    return None


def _offer(state: ConversationState, services: Services) -> Act:
    lang = state.lang
    lines = [t(lang, "human_intro")]
    commune = services.commune(state)
    meta = services.orientation.meta_for(commune)
    if meta.conseiller is not None:
        c = meta.conseiller
        contact = " · ".join(p for p in (c.nom, c.telephone, c.courriel) if p)
        lines.append(t(lang, "human_contact", contact=contact))
    if commune is not None:
        referent = services.orientation.referent_for_person(state, commune)
        if referent:
            lines.append(t(lang, "human_referent", referent=referent))
    faq = ["faq_parler_humain"] if "faq_parler_humain" in services.kb.faq else []
    choices = [Choice("cb:ask", t(lang, "callback_offer")), Choice("menu", t(lang, "other_need"))]
    new = state.copy()
    new.asking = None
    need = new.need or "information"
    return Act(new, "\n".join(lines), choices, need=need, faq=faq, final=True)


def _ask_consent(state: ConversationState) -> Act:
    new = state.copy()
    new.asking = "consentement"
    lang = new.lang
    choices = [Choice("cb:yes", t(lang, "yes")), Choice("cb:no", t(lang, "no"))]
    return Act(new, t(lang, "callback_consent"), choices, final=True)


def _declined(state: ConversationState, services: Services) -> Act:
    new = state.copy()
    new.asking = None
    return Act(new, t(new.lang, "callback_declined"), services.menu(new.lang), final=True)


def _record(state: ConversationState, phone: str, services: Services) -> Act:
    new = state.copy()
    new.asking = None
    new.callback_requested = True
    request = CallbackRequest(
        phone=phone, moment=None, commune=new.facts.commune, need=new.need, referral=new.referral
    )
    usage = UsageEvent(
        kind="rappel",
        need=new.need,
        departement=services.departement(new),
        referral=new.referral,
    )
    return Act(
        new,
        t(new.lang, "callback_done"),
        services.menu(new.lang),
        callbacks=[request],
        usage=[usage],
        final=True,
    )
