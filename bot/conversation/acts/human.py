"""A person, not a bot: who to contact, and a call-back request with explicit consent.

The steps: the offer (who can help, "Être rappelé·e") → consent (what is kept, who sees it) →
how to reach the person: a phone number, validated (also inside a sentence), or "write to me
here" → the request is recorded at once (nothing is lost if the person leaves), and the person
is told who will call and within what delay → optionally, when suits them, and whether they may
be asked later if it helped. The request then reaches the counsellors (`bot/callbacks/`).
"""

from __future__ import annotations

from bot.callbacks.request import details_for_counsellor
from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.messages import Choice
from bot.store import CallbackRequest, UsageEvent
from bot.texts import t

MOMENT_FOR_COUNSELLOR = {
    "matin": "le matin",
    "apres_midi": "l'après-midi",
    "indifferent": "peu importe",
}
MOMENTS = tuple(MOMENT_FOR_COUNSELLOR)  # "cb:moment:<id>"


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    lang = state.lang
    choice = frame.choice or ""
    if state.asking == "suivi":
        return _follow_up_answer(frame, state, services)
    if choice.startswith("cb:moment:"):
        return _moment(state, choice.removeprefix("cb:moment:"))
    if choice in ("cb:optin:yes", "cb:optin:no"):
        return _opt_in(state, choice == "cb:optin:yes", services)
    if choice == "cb:ask":
        return _ask_consent(state, services)
    if state.asking == "consentement" or choice in ("cb:yes", "cb:no"):
        if frame.phone is not None and not frame.no:  # the number given: consent given
            return _record(state, services, frame.phone)
        if choice == "cb:yes" or (not choice and frame.yes):
            return _ask_contact(state)
        if choice == "cb:no" or frame.no:
            return _declined(state, services)
    if state.asking == "telephone":
        if choice == "cb:here":
            return _record(state, services, None)
        if frame.phone is not None:
            return _record(state, services, frame.phone)
        if frame.no or frame.skip or choice == "cb:cancel":
            return _declined(state, services)
        if not (frame.needs or frame.is_question or frame.command):
            return Act(state.copy(), t(lang, "callback_bad_phone"), _contact_choices(lang),
                       final=True)  # fmt: skip
    if frame.asks_callback and frame.phone is not None:  # "rappelez-moi au 06…": consent
        return _record(state, services, frame.phone)
    if frame.asks_callback:
        return _ask_consent(state, services)
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


def _who(state: ConversationState, services: Services) -> str:
    who = services.staff.who_calls(services.kb, state.referral, services.departement(state))
    return who or t(state.lang, "callback_someone")


def _ask_consent(state: ConversationState, services: Services) -> Act:
    new = state.copy()
    new.asking = "consentement"
    lang = new.lang
    choices = [Choice("cb:yes", t(lang, "yes")), Choice("cb:no", t(lang, "no"))]
    text = t(lang, "callback_consent_who", who=_who(new, services))
    return Act(new, text, choices, final=True)


def _contact_choices(lang: str) -> list[Choice]:
    return [Choice("cb:here", t(lang, "callback_here")),
            Choice("cb:cancel", t(lang, "callback_cancel"))]  # fmt: skip


def _ask_contact(state: ConversationState) -> Act:
    new = state.copy()
    new.asking = "telephone"
    lang = new.lang
    return Act(new, t(lang, "callback_ask_contact"), _contact_choices(lang), final=True)


def _declined(state: ConversationState, services: Services) -> Act:
    new = state.copy()
    new.asking = None
    return Act(new, t(new.lang, "callback_declined"), services.menu(new.lang), final=True)


def _record(state: ConversationState, services: Services, phone: str | None) -> Act:
    """Record the request now; the person is told who will call and when."""
    new = state.copy()
    new.asking = None
    new.callback_requested = True
    lang = new.lang
    departement = services.departement(new)
    request = CallbackRequest(
        phone=phone,
        moment=None,
        commune=new.facts.commune,
        need=new.need,
        referral=new.referral,
        contact="telephone" if phone else "ici",
        lang=lang,
        departement=departement,
        details=details_for_counsellor(new, services),
    )
    usage = UsageEvent(kind="rappel", need=new.need, departement=departement,
                       referral=new.referral)  # fmt: skip
    values = {"who": _who(new, services), "delay": services.staff.delay(lang), "phone": phone}
    text = t(lang, "callback_done_phone" if phone else "callback_done_here", **values)
    moments = [Choice(f"cb:moment:{m}", t(lang, f"moment_{m}")) for m in MOMENTS]
    return Act(new, text, moments, callbacks=[request], usage=[usage], final=True)


def _amend(moment: str | None = None, follow_up: bool | None = None) -> CallbackRequest:
    return CallbackRequest(None, moment, None, None, None, follow_up=follow_up, amends_latest=True)


def _moment(state: ConversationState, moment: str) -> Act:
    new = state.copy()
    lang = new.lang
    label = MOMENT_FOR_COUNSELLOR.get(moment)
    choices = [Choice("cb:optin:yes", t(lang, "yes")), Choice("cb:optin:no", t(lang, "no"))]
    amend = [_amend(moment=label)] if label else []
    return Act(new, t(lang, "callback_moment_noted"), choices, callbacks=amend, final=True)


def _opt_in(state: ConversationState, yes: bool, services: Services) -> Act:
    new = state.copy()
    lang = new.lang
    text = t(lang, "callback_optin_yes" if yes else "callback_optin_no")
    return Act(new, text, services.menu(lang), callbacks=[_amend(follow_up=yes)], final=True)


def _follow_up_answer(frame: Frame, state: ConversationState, services: Services) -> Act:
    """ "Did it help?" (asked through the outbox): yes or no; anything else goes on as usual."""
    new = state.copy()
    new.asking = None
    choice = frame.choice or ""
    helped = True if choice == "cb:suivi:oui" or (not choice and frame.yes) else None
    if choice == "cb:suivi:non" or (not choice and frame.no):
        helped = False
    if helped is None:
        return Act(new)  # not an answer: the question is dropped, the turn goes on
    lang = new.lang
    usage = UsageEvent(kind="suivi_utile" if helped else "suivi_pas_utile",
                       departement=services.departement(new), referral=new.referral)  # fmt: skip
    text = t(lang, "follow_up_yes" if helped else "follow_up_no")
    choices = services.menu(lang) if helped else [
        Choice("cb:ask", t(lang, "callback_offer")), *services.menu(lang)]  # fmt: skip
    return Act(new, text, choices, usage=[usage], final=True)
