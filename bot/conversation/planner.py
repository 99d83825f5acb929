"""The turn planner: what the frame says goes into the state, then the acts speak in order.

The order is fixed and is the whole policy of a turn:

0. admin         /stats, /nonrepondues, /reload: only admin accounts (answered by their adapter)
1. commands      /start, /aide, /recommencer, /mes_donnees, /oubli
2. safety        an emergency gets the numbers first, and nothing else gets in the way
3. referral      a counsellor's link or code
4. human         who to contact, a call-back request with consent
5. details       a question about the structures just shown ("c'est où le 2 ?")
6. answer        the answer to the question, short when an orientation follows
7. orientation   ask the one fact that changes what is shown, or show, or explain a refusal
8. offer         a second need heard in the same message
9. fallback      the menu, "noted", or "I did not understand" when nobody else spoke

Each act returns what to say, what to offer and the new state; an act marked `final` ends the
turn. The last act that offers choices gives the turn's choices (an offer adds to them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.conversation import slots
from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.acts import (
    admin,
    answer,
    commands,
    details,
    fallback,
    human,
    offer,
    orientation,
    referral,
    safety,
)
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.messages import Choice, Reply, Trace
from bot.store import CallbackRequest, Unanswered, UsageEvent

ActHandler = Callable[[Frame, ConversationState, Services, TurnInfo], Act | None]
ACTS: tuple[ActHandler, ...] = (
    admin.act,  # /stats, /nonrepondues, /reload: for admin accounts (their adapter answers)
    commands.act,
    safety.act,
    referral.act,
    human.act,
    details.act,
    answer.act,
    orientation.act,
    offer.act,
    fallback.act,
)


@dataclass(slots=True)
class Planned:
    """The turn the acts composed."""

    replies: list[Reply]
    trace: Trace
    state: ConversationState
    usage: list[UsageEvent] = field(default_factory=list)
    unanswered: list[Unanswered] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)
    erase: bool = False
    show_personal_data: bool = False


def plan(frame: Frame, state: ConversationState, services: Services) -> Planned:
    update = slots.absorb(frame, state, services.kb)
    state = update.state
    turn = TurnInfo(
        update.information_only, update.moves_orientation, update.settled, update.facts_only
    )
    done: list[tuple[ActHandler, Act]] = []
    for handler in ACTS:
        result = handler(frame, state, services, turn)
        if result is None:
            continue
        done.append((handler, result))
        state = result.state
        turn = replace(
            turn,
            answered=turn.answered or (handler in (answer.act, details.act) and bool(result.text)),
            oriented=turn.oriented or (handler is orientation.act and bool(result.text)),
            said=turn.said or bool(result.text) or result.show_personal_data,
        )
        if result.final:
            break
    return _compose(done, state)


def _compose(done: list[tuple[ActHandler, Act]], state: ConversationState) -> Planned:
    replies: list[Reply] = []
    trace = Trace()
    planned = Planned(replies, trace, state)
    choices: list[Choice] = []
    for handler, result in done:
        if result.before:
            replies.append(Reply(result.before))
        if result.text:
            if handler is offer.act and replies:
                last = replies[-1]
                replies[-1] = replace(last, text=f"{last.text}\n\n{result.text}", choices=())
                choices = [*result.choices, *[c for c in choices if c not in result.choices]]
            else:
                replies.append(
                    Reply(
                        result.text,
                        (),
                        tuple(result.structures),
                        result.request_location,
                        venue=result.venue,
                    )
                )
                if result.choices:
                    choices = list(result.choices)
        if result.need is not None and (trace.need is None or handler is orientation.act):
            trace.need = result.need
        trace.faq += [f for f in result.faq if f not in trace.faq]
        trace.structures += result.trace_structures
        trace.eligibility.update(result.eligibility)
        planned.usage += result.usage
        planned.unanswered += result.unanswered
        planned.callbacks += result.callbacks
        planned.erase = planned.erase or result.erase
        planned.show_personal_data = planned.show_personal_data or result.show_personal_data
    if replies and choices:
        last = replies[-1]
        replies[-1] = replace(last, choices=tuple(choices))
    trace.need = trace.need or state.need
    trace.asking = "consentement" if state.asking == "telephone" else state.asking
    return planned
