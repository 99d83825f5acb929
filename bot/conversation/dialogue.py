"""The dialogue: a plain function of (state, incoming) → replies, new state, effects.

Where a message goes: `step` turns the incoming event into a frame (bot/conversation/reader.py:
text, a button, a location, a link), the planner (bot/conversation/planner.py) lets the acts of
bot/conversation/acts/ speak in a fixed order, and the result goes back to the dispatcher,
which stores everything in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

from rapidfuzz import fuzz

from bot.config import DialogueSettings
from bot.conversation.act import Services
from bot.conversation.acts.commands import command_of
from bot.conversation.frame import Frame
from bot.conversation.planner import plan
from bot.conversation.reader import Expecting, Reader
from bot.conversation.state import ConversationState
from bot.dispatcher import StepResult
from bot.kb.knowledge import KnowledgeBase
from bot.kept import Kept
from bot.messages import Incoming, Reply, Turn
from bot.orientation import Orientation
from bot.places import Gazetteer
from bot.present import labelled
from bot.ranking import Place
from bot.staff.directory import StaffDirectory
from bot.store import UsageEvent
from bot.texts import t

LABEL_SAME = 95  # a typed text counts as a button only when it is (almost) its label
_NUMBER = re.compile(r"\s*(?:n°|no|le|la|numero|numéro|choix)?\s*(\d{1,2})\s*[.)]?\s*", re.I)
MAX_CHOICE_TEXT = 80  # longer texts are sentences, never a button press
NUMBER_ANSWERS = frozenset({"age", "duree_sans_emploi", "residence_depuis"})
LABELS_KEPT = 2048


class OrientationDialogue:
    """Built once per knowledge base; `step` holds no state of its own."""

    def __init__(
        self,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        settings: DialogueSettings,
        home_departement: str,
        today: dt.date | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        staff: StaffDirectory | None = None,
        earlier: OrientationDialogue | None = None,
    ) -> None:
        """`today` fixes the date (tests, replays: then the time is 10:00); `clock` the time;
        `staff` the counsellor codes and channels (bot/staff/directory.py); `earlier` the
        dialogue of the base before a reload, with the same gazetteer (what did not change is
        kept)."""
        now: Callable[[], dt.datetime] = clock or (_morning_of(today) if today else _paris_now)

        def day() -> dt.date:
            return now().date()

        before = earlier.services if earlier is not None else None
        orientation = Orientation(
            kb, gazetteer, home_departement, day, before.orientation if before else None
        )
        reader = Reader.for_base(
            kb, gazetteer, home_departement, day, before.reader if before else None
        )
        self.services: Services = Services(
            kb, gazetteer, reader, orientation, settings, now, staff or StaffDirectory()
        )
        self._label_keys: Kept[str, str] = Kept(LABELS_KEPT)  # labels are few

    def places(self) -> Iterator[Place]:
        """The places it searches (services and referents), for the reload that replaces it."""
        return self.services.orientation.places()

    # --- the Dialogue protocol -----------------------------------------------------------------

    def step(self, state_json: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        state = ConversationState.from_json(state_json)
        first_contact = not state.greeted
        if first_contact and incoming.language and incoming.language.startswith("en"):
            state.lang = "en"
        frame = self.frame(incoming, state)
        if frame.language == "en" and frame.words >= 2:
            state.lang = "en"
        elif frame.language == "fr" and state.lang == "en" and frame.words >= 3:
            state.lang = "fr"
        planned = plan(frame, state, self.services)
        replies, new = planned.replies, planned.state
        if frame.truncated or incoming.truncated:
            replies.insert(0, Reply(t(new.lang, "too_long")))
        if first_contact and not planned.erase:
            privacy = t(new.lang, "privacy")
            if new.referral:  # opened from a counsellor's link: the code is kept too
                privacy += " " + t(new.lang, "privacy_code")
            replies.insert(0, Reply(privacy))
            new.greeted = True
        if replies and replies[-1].choices:
            new.choices = [(c.id, c.label) for c in replies[-1].choices]
        usage = [UsageEvent(kind="turn", departement=self.services.departement(new))]
        return StepResult(
            turn=Turn(replies, planned.trace),
            state=None if planned.erase else new.to_json(),
            usage=usage + planned.usage,
            unanswered=planned.unanswered,
            callbacks=planned.callbacks,
            show_personal_data=planned.show_personal_data,
        )

    def frame(self, incoming: Incoming, state: ConversationState) -> Frame:
        """What the event says, whatever its kind."""
        reader = self.services.reader
        if incoming.unsupported is not None:
            return Frame(unsupported=incoming.unsupported)
        if incoming.start is not None:
            return reader.read_start(incoming.start)
        if incoming.location is not None:
            return reader.read_location(incoming.location.lat, incoming.location.lon)
        if incoming.choice is not None:
            offered = {choice_id for choice_id, _ in state.choices}
            if incoming.choice not in offered:
                return Frame(unsupported="choice")  # a stale or forged button: not accepted
            return reader.read_choice(incoming.choice)
        text = incoming.text or ""
        command, rest = command_of(text)
        if command == "start" and rest:
            return reader.read_start(rest)
        if command is not None:
            return Frame(raw=text, command=command, command_arg=rest)
        typed = self._typed_choice(state, text)
        if typed is not None:
            return reader.read_choice(typed)
        return reader.read(text, self._expecting(state))

    def personal_data_reply(self, data: dict[str, Any], state_json: dict[str, Any] | None) -> Reply:
        state = ConversationState.from_json(data.get("state") or state_json)
        lang, facts = state.lang, state.facts
        orientation = self.services.orientation
        lines = [t(lang, "my_data_title")]
        commune = self.services.commune(state)
        rows = [
            ("label_commune", commune.name if commune else None),
            ("label_age", t(lang, "years_old", n=facts.age) if facts.age is not None else None),
            (
                "label_situation",
                ", ".join(orientation.statut_label(s, lang) for s in facts.statuts),
            ),
            ("label_need", self.services.need_label(state.need, lang) if state.need else None),
            ("label_sans_emploi", _months(facts.numbers.get("sans_emploi_mois"), lang)),
            ("label_residence", _months(facts.numbers.get("residence_depuis_mois"), lang)),
            ("label_referral", state.referral),
            ("label_questions", " | ".join(data.get("unanswered", []))),
            (
                "label_callbacks",
                ", ".join(f"{c['telephone']} ({c['statut']})" for c in data.get("callbacks", [])),
            ),
        ]
        shown = ["• " + labelled(lang, label, value) for label, value in rows if value]
        lines += shown or [t(lang, "my_data_nothing")]
        lines.append(t(lang, "my_data_why"))
        return Reply("\n".join(lines))

    def failure_reply(self, state_json: dict[str, Any] | None) -> Reply:
        lang = str((state_json or {}).get("lang", "fr"))
        return Reply(t(lang, "failure"), choices=self.services.menu(lang))

    # --- helpers -------------------------------------------------------------------------------

    def _expecting(self, state: ConversationState) -> Expecting:
        fact = self.services.orientation.facts_by_id.get(state.asking or "")
        return Expecting(fact, commune=state.asking in ("commune", "confirmation_commune"))

    def _typed_choice(self, state: ConversationState, text: str) -> str | None:
        """ "2", "le 2" or a label typed again: the choice offered. A sentence never is."""
        if not state.choices or len(text) > MAX_CHOICE_TEXT:
            return None
        number = _NUMBER.fullmatch(text)
        if number:
            index = int(number.group(1)) - 1
            if 0 <= index < len(state.choices) and state.asking not in NUMBER_ANSWERS:
                return state.choices[index][0]
            return None
        typed = self.services.reader.normalise(text)
        for choice_id, label in state.choices:
            if fuzz.ratio(typed, self._label_key(label)) >= LABEL_SAME:
                return choice_id
        return None

    def _label_key(self, label: str) -> str:
        return self._label_keys.get(label, lambda: self.services.reader.normalise(label))


MORNING = dt.time(10, 0)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def _morning_of(day: dt.date) -> Callable[[], dt.datetime]:
    moment = dt.datetime.combine(day, MORNING)
    return lambda: moment


def _paris_now() -> dt.datetime:
    """The local time of France métropolitaine, naive (opening hours are local)."""
    return dt.datetime.now(PARIS).replace(tzinfo=None)


def _months(value: int | None, lang: str) -> str | None:
    return None if value is None else t(lang, "months", n=value)
