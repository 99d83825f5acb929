"""A conversation opened from a counsellor's link or code: say who sent the person, keep the
code, apply its presets.

The link's presets (a need, a commune, in the payload) are read into the frame like anything
the person says, so the orientation continues from them in the same turn. A code declared in
the knowledge base (`codes_conseillers:`) or made with `aiguillage link` greets the person in
the counsellor's name; its own presets apply when the payload has none (a typed code).
"""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.messages import Choice
from bot.staff.directory import CodeInfo
from bot.store import UsageEvent
from bot.texts import t


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    code = frame.start_payload
    if not code:
        return None
    new = state.copy()
    new.referral = code
    lang = new.lang
    usage = [UsageEvent(kind="start", referral=code, departement=services.departement(new))]
    info = services.staff.code(services.kb, code)
    lines = [_greeting(info, code, lang)]
    if state.greeted:  # the privacy notice was said before: the code is kept too
        lines.append(t(lang, "referral_kept"))
    if info is not None:
        _apply_presets(info, frame, new, services)
    text = "\n".join(lines)
    if new.need is None:
        return Act(new, f"{text}\n{t(lang, 'menu_prompt')}", services.menu(lang), usage=usage)
    if turn.moves_orientation:
        return Act(new, text, usage=usage)  # the orientation answers in the same turn
    label = services.need_label(new.need, lang)
    choice = Choice(f"need:{new.need}", t(lang, "referral_see_need", besoin=label))
    return Act(new, text, [choice, *services.human_choices(lang)], usage=usage)


def _greeting(info: CodeInfo | None, code: str, lang: str) -> str:
    if info is None or not (info.greeting or info.structure):
        return t(lang, "referral_ok", code=code)
    sender = info.greeting if info.greeting and lang == "fr" else None
    if sender is None:
        sender = t(lang, "referral_sent_by", structure=info.structure or info.label)
    return t(lang, "referral_named", accueil=sender, code=code)


def _apply_presets(
    info: CodeInfo, frame: Frame, state: ConversationState, services: Services
) -> None:
    """The code's own need and commune, when the link did not carry them."""
    if info.need and frame.need_pick is None and state.need is None:
        state.set_need(info.need)
    known = info.commune and services.gazetteer.get(info.commune) is not None
    if known and not frame.places and state.facts.commune is None:
        state.facts.commune = info.commune
