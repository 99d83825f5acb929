"""Commands typed with a slash: /start, /aide, /recommencer, /mes_donnees, /oubli.

(/conseiller is a request for a human: the `human` act answers it.)
"""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.texts import t

COMMANDS = {
    "/start": "start",
    "/aide": "help",
    "/help": "help",
    "/recommencer": "restart",
    "/restart": "restart",
    "/menu": "restart",
    "/mes_donnees": "my_data",
    "/mydata": "my_data",
    "/oubli": "forget",
    "/forget": "forget",
    "/conseiller": "human",
    "/human": "human",
}


def command_of(text: str) -> tuple[str | None, str]:
    """("restart", "") for "/recommencer"; (None, "") when the text is no command."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None, ""
    word, _, rest = stripped.partition(" ")
    return COMMANDS.get(word.split("@")[0].lower(), "help"), rest.strip()


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    command = frame.command
    if command is None or command in ("human",) or (command == "start" and frame.start_payload):
        return None
    new = state.copy()
    lang = new.lang
    if command == "start":
        return Act(new, t(lang, "welcome"), services.menu(lang), final=True)
    if command == "restart":
        new.forget_need()  # what the person said about themselves is kept
        return Act(new, t(lang, "restart"), services.menu(lang), final=True)
    if command == "my_data":
        return Act(new, need=new.need, show_personal_data=True, final=True)
    if command == "forget":
        return Act(new, t(lang, "forgotten"), erase=True, final=True)
    return Act(new, t(lang, "help"), services.menu(lang), final=True)
