"""Admin commands typed by someone who is not an admin: a kind refusal, then the usual help.

`/stats`, `/nonrepondues` and `/reload` from an admin account never reach the dialogue: the
adapter recognises the account (`admins:` in config.yaml) and answers with `bot/staff/admins.py`.
Anyone else who types them lands here.
"""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.staff.admins import admin_command
from bot.texts import t


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    if frame.command is None or admin_command(frame.raw) is None:
        return None
    new = state.copy()
    return Act(new, t(new.lang, "admin_only"), services.menu(new.lang), final=True)
