"""A conversation opened from a counsellor's link or code: say so, keep the code.

The link's presets (a need, a commune) are read into the frame like anything the person says,
so the orientation continues from them in the same turn.
"""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.store import UsageEvent
from bot.texts import t


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    code = frame.start_payload
    if not code:
        return None
    new = state.copy()
    new.referral = code
    usage = [UsageEvent(kind="start", referral=code, departement=services.departement(new))]
    text = t(new.lang, "referral_ok", code=code)
    if new.need is None:
        return Act(
            new, f"{text}\n{t(new.lang, 'menu_prompt')}", services.menu(new.lang), usage=usage
        )
    return Act(new, text, usage=usage)
