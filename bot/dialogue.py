"""The dialogue: a plain function of (state, incoming, knowledge) → replies, new state, effects.

Order of precedence for a message: commands → emergency → referral code → the answer to the
question being asked → a question (FAQ) → a need → out of scope → greeting → "did you mean" →
not understood. After any of these that moves the orientation on, `_advance` asks the one fact
still missing or shows the structures.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.config import DialogueSettings
from bot.dispatcher import StepResult
from bot.kb.knowledge import KnowledgeBase
from bot.kb.vocab import NEEDS
from bot.messages import Choice, Incoming, Reply, Trace, Turn
from bot.orientation import Orientation
from bot.places import Commune, Gazetteer, Resolution
from bot.present import Routed, card, category_label, faq_text, proposal_text, trace_entry
from bot.rules import Verdict
from bot.state import ConversationState
from bot.store import CallbackRequest, Unanswered, UsageEvent
from bot.texts import t
from bot.understanding import (
    Understanding,
    Understood,
    parse_age_answer,
    parse_duration_answer,
)

SITUATION_CHOICES = ("RSA", "ASS", "AAH", "DETLD", "DEMANDEUR_EMPLOI", "RQTH")
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


@dataclass(slots=True)
class _Out:
    """What one step is building."""

    replies: list[Reply] = field(default_factory=list)
    trace: Trace = field(default_factory=Trace)
    usage: list[UsageEvent] = field(default_factory=list)
    unanswered: list[Unanswered] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)
    erase: bool = False
    show_personal_data: bool = False

    def say(self, text: str, choices: Sequence[Choice] = (), **extra: Any) -> None:
        self.replies.append(Reply(text=text, choices=tuple(choices), **extra))


class OrientationDialogue:
    """Built once per knowledge base; `step` holds no state of its own."""

    def __init__(
        self,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        settings: DialogueSettings,
        home_departement: str,
        today: dt.date | None = None,
    ) -> None:
        self.kb = kb
        self.gazetteer = gazetteer
        self.settings = settings
        self.understanding = Understanding(kb, gazetteer, home_departement)
        self.orientation = Orientation(kb, gazetteer, home_departement, today)

    # --- entry points (the Dialogue protocol) --------------------------------------------------

    def step(self, state_json: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        state = ConversationState.from_json(state_json)
        out = _Out()
        first_contact = not state.greeted
        if first_contact and incoming.language and incoming.language.startswith("en"):
            state.lang = "en"
        self._route(state, incoming, out)
        if out.replies:  # what a number typed next refers to
            state.choices = [(c.id, c.label) for c in out.replies[-1].choices]
        if first_contact and not out.erase:
            self._prepend_privacy(state, out)
            state.greeted = True
        out.trace.asking = _trace_asking(state.asking)
        out.trace.need = out.trace.need or state.need
        out.usage.insert(0, UsageEvent(kind="turn", departement=self._dept(state)))
        return StepResult(
            turn=Turn(out.replies, out.trace),
            state=None if out.erase else state.to_json(),
            usage=out.usage,
            unanswered=out.unanswered,
            callbacks=out.callbacks,
            show_personal_data=out.show_personal_data,
        )

    def personal_data_reply(self, data: dict[str, Any], state_json: dict[str, Any] | None) -> Reply:
        state = ConversationState.from_json(data.get("state") or state_json)
        lang, facts = state.lang, state.facts
        lines = [t(lang, "my_data_title")]
        commune = self._commune(state)
        rows = [
            ("label_commune", commune.name if commune else None),
            ("label_age", t(lang, "years_old", n=facts.age) if facts.age is not None else None),
            (
                "label_situation",
                ", ".join(self.orientation.statut_label(s, lang) for s in facts.statuts),
            ),
            ("label_need", self._need_label(state.need, lang) if state.need else None),
            ("label_sans_emploi", _months(facts.sans_emploi_mois, lang)),
            ("label_residence", _months(facts.residence_depuis_mois, lang)),
            ("label_referral", state.referral),
            ("label_questions", " | ".join(data.get("unanswered", []))),
            (
                "label_callbacks",
                ", ".join(f"{c['telephone']} ({c['statut']})" for c in data.get("callbacks", [])),
            ),
        ]
        shown = [f"• {t(lang, label)} : {value}" for label, value in rows if value]
        lines += shown or [t(lang, "my_data_nothing")]
        lines.append(t(lang, "my_data_why"))
        return Reply("\n".join(lines))

    def failure_reply(self, state_json: dict[str, Any] | None) -> Reply:
        lang = str((state_json or {}).get("lang", "fr"))
        return Reply(t(lang, "failure"), choices=self._menu_choices(lang))

    # --- routing -------------------------------------------------------------------------------

    def _route(self, state: ConversationState, incoming: Incoming, out: _Out) -> None:
        if incoming.unsupported is not None:
            out.say(t(state.lang, "unsupported"), self._current_choices(state))
        elif incoming.start is not None:
            self._on_start(state, incoming.start, out)
        elif incoming.location is not None:
            commune = self.gazetteer.nearest(incoming.location.lat, incoming.location.lon)
            self._on_commune(state, commune, out)
        elif incoming.choice is not None:
            self._on_choice(state, incoming.choice, out)
        else:
            self._on_text(state, incoming.text or "", out)

    def _on_text(self, state: ConversationState, text: str, out: _Out) -> None:
        stripped = text.strip()
        if stripped.startswith("/"):
            self._on_command(state, stripped, out)
            return
        heard = self.understanding.read(stripped)
        if heard.english:
            state.lang = "en"
        elif state.lang == "en" and _looks_french(heard.folded):
            state.lang = "fr"
        if heard.truncated:
            out.say(t(state.lang, "too_long"))
        if not heard.folded:  # nothing but spaces, punctuation or emoji
            out.say(t(state.lang, "menu_prompt"), self._menu_choices(state.lang))
            return
        if heard.urgence:
            self._on_urgence(state, out)
            return
        if heard.code:
            self._on_start(state, heard.code, out)
            return
        choice = self._typed_choice(state, stripped)
        if choice is not None:
            self._on_choice(state, choice, out)
            return
        if state.asking and self._on_answer(state, heard, out):
            return
        self._on_free_text(state, heard, out)

    def _on_free_text(self, state: ConversationState, heard: Understood, out: _Out) -> None:
        self._absorb_facts(state, heard)
        small_talk = (heard.greeting or heard.thanks or heard.yes or heard.no) and len(
            heard.folded.split()
        ) <= 4
        if heard.referents and heard.wants_place and not heard.needs:
            self._find_referent(state, heard.referents[0], heard.place, out)
        elif self._faq_is_clear(heard):
            self._answer_faq(state, heard.faq[0].id, out)
        elif heard.needs:
            self._set_need(state, heard.needs[0].id, heard.categories)
            if not self._take_place(state, heard, out):
                self._advance(state, out)
        elif heard.hors_perimetre:
            self._on_out_of_scope(state, heard.hors_perimetre, out)
        elif self._take_place(state, heard, out):
            pass
        elif small_talk or heard.asks_help:
            out.say(t(state.lang, "welcome"), self._menu_choices(state.lang))
        elif heard.faq and heard.faq[0].score >= self.settings.faq_seuil_bas:
            self._did_you_mean(state, heard, out)
        elif heard.greeting or heard.thanks:
            out.say(t(state.lang, "welcome"), self._menu_choices(state.lang))
        elif heard.age is not None or heard.statuts or heard.durations_months:
            self._advance(state, out)
        else:
            self._not_understood(state, heard, out)

    def _faq_is_clear(self, heard: Understood) -> bool:
        """A question answered directly: high score, and not too close to the second one.

        A sentence that is not phrased as a question needs a higher score, so that "je cherche
        un garage solidaire" routes to garages instead of explaining them. A question about
        the very thing the person needs ("combien je serais payé dans un chantier ?") is
        answered from the lower threshold.
        """
        if not heard.faq:
            return False
        top = heard.faq[0]
        high = self.settings.faq_seuil_haut
        strong = (heard.is_question and top.score >= high) or (
            not heard.needs and top.score >= high + 6
        )
        about_need = (
            heard.is_question
            and top.score >= self.settings.faq_seuil_bas
            and self._faq_about_needs(top.id, heard)
        )
        return (strong or about_need) and not self._faq_ambiguous(heard)

    def _faq_about_needs(self, faq_id: str, heard: Understood) -> bool:
        faq_categories = set(self.kb.faq[faq_id].categories)
        for scored in heard.needs[:1]:
            need = self.kb.needs.get(scored.id)
            if need is not None and faq_categories & set(need.categories):
                return True
        return bool(faq_categories & set(heard.categories))

    def _take_place(self, state: ConversationState, heard: Understood, out: _Out) -> bool:
        """Use a commune named in the message. True if the turn is answered by this."""
        place = heard.place
        if place is None:
            return False
        if place.status == "found":
            commune = place.candidates[0].commune
            state.facts.commune = commune.insee
            if state.need is None:
                out.say(
                    t(state.lang, "commune_noted", commune=commune.name)
                    + " "
                    + t(state.lang, "menu_prompt"),
                    self._menu_choices(state.lang),
                )
                out.trace.asking = "besoin"
                state.asking = "besoin"
                return True
            self._advance(state, out)
            return True
        if place.status == "ambiguous":
            self._ask_which_commune(state, [m.commune for m in place.candidates], out)
            return True
        return False

    # --- commands, start, choices ---------------------------------------------------------------

    def _on_command(self, state: ConversationState, text: str, out: _Out) -> None:
        word, _, rest = text.partition(" ")
        command = COMMANDS.get(word.split("@")[0].lower())
        lang = state.lang
        if command == "start":
            self._on_start(state, rest.strip(), out)
        elif command == "restart":
            state.forget_need()  # what the person said about themselves is kept
            out.say(t(lang, "restart"), self._menu_choices(lang))
        elif command == "my_data":
            out.show_personal_data = True
            out.trace.need = state.need
        elif command == "forget":
            out.erase = True
            out.say(t(lang, "forgotten"))
        elif command == "human":
            self._offer_human(state, out)
        else:
            out.say(t(lang, "help"), self._menu_choices(lang))

    def _on_start(self, state: ConversationState, payload: str, out: _Out) -> None:
        code, presets = _parse_payload(payload)
        lang = state.lang
        if not code and not presets:
            out.say(t(lang, "welcome"), self._menu_choices(lang))
            return
        if code:
            state.referral = code
            out.usage.append(UsageEvent(kind="start", referral=code, departement=self._dept(state)))
        commune = presets.get("c")
        if commune and commune in self.gazetteer:
            state.facts.commune = commune
        need = presets.get("b")
        intro = t(lang, "referral_ok", code=code) if code else ""
        if need in NEEDS and need in self.kb.needs:
            self._set_need(state, need, [])
            self._advance(state, out, intro=intro)
            return
        out.say(f"{intro}\n{t(lang, 'menu_prompt')}".strip(), self._menu_choices(lang))

    def _typed_choice(self, state: ConversationState, text: str) -> str | None:
        """ "2", "2.", "le 2" or a label typed again: the id of the choice offered."""
        if not state.choices:
            return None
        number = re.fullmatch(
            r"\s*(?:n°|no|le|la|numero|numéro)?\s*(\d{1,2})\s*[.)]?\s*", text, re.IGNORECASE
        )
        if number:
            index = int(number.group(1)) - 1
            if 0 <= index < len(state.choices) and state.asking not in {
                "age",
                "duree_sans_emploi",
                "residence_depuis",
            }:
                return state.choices[index][0]
            return None
        found = self.understanding.match_label(text, [label for _, label in state.choices])
        return None if found is None else state.choices[found][0]

    def _on_choice(self, state: ConversationState, choice: str, out: _Out) -> None:
        kind, _, value = choice.partition(":")
        lang = state.lang
        if kind == "need" and value in self.kb.needs:
            self._set_need(state, value, [])
            self._advance(state, out)
        elif kind == "faq" and value in self.kb.faq:
            self._answer_faq(state, value, out)
        elif kind == "commune":
            commune = self.gazetteer.get(value) if value != "none" else None
            if commune is None:
                state.pending_communes = []
                self._ask(state, "commune", out, hint=t(lang, "commune_not_found"))
            else:
                self._on_commune(state, commune, out)
        elif kind == "sit":
            self._set_situation(state, [] if value == "none" else [value])
            self._advance(state, out)
        elif kind == "skip":
            self._skip_current(state)
            self._advance(state, out)
        elif kind == "more":
            state.page += 1
            self._advance(state, out)
        elif kind == "menu":
            state.forget_need()
            out.say(t(lang, "menu_prompt"), self._menu_choices(lang))
        elif kind == "human":
            self._offer_human(state, out)
        elif kind == "cb":
            self._on_callback_choice(state, value, out)
        elif kind == "loc":
            self._ask(state, "commune", out)
        else:
            out.say(t(lang, "menu_prompt"), self._menu_choices(lang))

    # --- answers to the question being asked ----------------------------------------------------

    def _on_answer(self, state: ConversationState, heard: Understood, out: _Out) -> bool:
        """Interpret the message as the answer to `state.asking`. False if it is not one."""
        asking, lang = state.asking, state.lang
        if asking in {"commune", "confirmation_commune"}:
            return self._answer_commune(state, heard, out)
        if asking == "age":
            age = parse_age_answer(heard.raw, heard)
            if age is None:
                return self._not_an_answer(state, heard, out, "age_not_understood")
            state.facts.age = age
        elif asking == "situation":
            if heard.statuts:
                self._set_situation(state, heard.statuts)
            elif heard.skip or heard.no:
                self._set_situation(state, [])
            elif heard.yes and state.need == "emploi_handicap":
                self._set_situation(state, ["RQTH"])
            else:
                return self._not_an_answer(state, heard, out, None)
        elif asking in {"duree_sans_emploi", "residence_depuis"}:
            months = parse_duration_answer(heard.raw, heard)
            if months is None:
                if heard.skip:
                    self._skip_current(state)
                    self._advance(state, out)
                    return True
                return self._not_an_answer(state, heard, out, "duration_not_understood")
            if asking == "duree_sans_emploi":
                state.facts.sans_emploi_mois = months
            else:
                state.facts.residence_depuis_mois = months
        elif asking == "consentement":
            if heard.yes or heard.no:
                self._on_callback_choice(state, "yes" if heard.yes else "no", out)
                return True
            return False
        elif asking == "telephone":
            if heard.phone is None:
                if heard.no or heard.skip:
                    self._on_callback_choice(state, "no", out)
                    return True
                out.say(t(lang, "callback_bad_phone"))
                return True
            self._record_callback(state, heard.phone, out)
            return True
        elif asking == "besoin":
            return False
        else:
            return False
        state.asking = None
        self._absorb_facts(state, heard)
        self._advance(state, out)
        return True

    def _answer_commune(self, state: ConversationState, heard: Understood, out: _Out) -> bool:
        place = heard.place
        if (place is None or place.status == "not_found") and len(heard.folded.split()) <= 4:
            # A short answer is taken as a name, typos included ("nanci", "st die").
            resolved = self.understanding.resolve_place(heard.raw)
            if resolved.status != "not_found":
                place = resolved
        if place is None or place.status == "not_found":
            if heard.needs or (heard.is_question and heard.faq) or heard.greeting:
                return False
            self._ask(state, "commune", out, hint=t(state.lang, "commune_not_found"))
            return True
        if place.status == "ambiguous":
            self._ask_which_commune(state, [m.commune for m in place.candidates], out)
            return True
        self._absorb_facts(state, heard)
        if heard.needs and state.need is None:
            self._set_need(state, heard.needs[0].id, heard.categories)
        self._on_commune(state, place.candidates[0].commune, out)
        return True

    def _not_an_answer(
        self, state: ConversationState, heard: Understood, out: _Out, hint_key: str | None
    ) -> bool:
        """Not an answer: let a question, a need or a command through, else ask again."""
        if heard.needs or (heard.is_question and heard.faq) or heard.hors_perimetre:
            return False
        if heard.skip:
            self._skip_current(state)
            state.asking = None
            self._advance(state, out)
            return True
        asking = state.asking or "besoin"
        self._ask(state, asking, out, hint=t(state.lang, hint_key) if hint_key else None)
        return True

    def _on_commune(self, state: ConversationState, commune: Commune | None, out: _Out) -> None:
        lang = state.lang
        if commune is None:
            self._ask(state, "commune", out, hint=t(lang, "commune_not_found"))
            return
        state.facts.commune = commune.insee
        state.pending_communes = []
        if state.asking in {"commune", "confirmation_commune"}:
            state.asking = None
        if state.referent_wanted and state.need is None:
            self._find_referent(state, state.referent_wanted, None, out)
            return
        if state.need is None:
            state.asking = "besoin"
            out.say(
                t(lang, "commune_noted", commune=commune.name) + " " + t(lang, "menu_prompt"),
                self._menu_choices(lang),
            )
            return
        self._advance(state, out)

    # --- the orientation itself ------------------------------------------------------------------

    def _set_need(self, state: ConversationState, need: str, categories: list[str]) -> None:
        if need != state.need:
            state.page = 0
            state.categories = []
        state.need = need
        allowed = set(self.kb.needs[need].categories) if need in self.kb.needs else set()
        named = [c for c in categories if c in allowed]
        if named:
            state.categories = named
        if state.asking == "besoin":
            state.asking = None

    def _advance(self, state: ConversationState, out: _Out, intro: str = "") -> None:
        """Ask the one fact still missing, or show the structures."""
        lang = state.lang
        need_id = state.need
        if need_id is None or need_id not in self.kb.needs:
            out.say(
                (intro + "\n" if intro else "") + t(lang, "menu_prompt"), self._menu_choices(lang)
            )
            state.asking = "besoin"
            return
        need = self.kb.needs[need_id]
        out.trace.need = need_id
        if state.facts.commune is None:
            self._ask(state, "commune", out, intro=intro)
            return
        commune = self.gazetteer.get(state.facts.commune)
        if commune is None:
            state.facts.commune = None
            self._ask(state, "commune", out, intro=intro)
            return
        categories = state.categories or list(need.categories)
        if need_id == "emploi_territoire" and not self.orientation.has_tzcld(commune):
            self._no_tzcld(state, commune, out, intro)
            return
        missing = self.orientation.missing_fact(state, need.faits_requis, categories, commune)
        if missing is not None:
            self._ask(state, missing, out, intro=intro)
            return
        self._show_results(state, commune, categories, out, intro)

    def _show_results(
        self,
        state: ConversationState,
        commune: Commune,
        categories: Sequence[str],
        out: _Out,
        intro: str,
    ) -> None:
        lang = state.lang
        result = self.orientation.search(categories, commune)
        screened = self.orientation.screen(state, result.proposals, commune)
        size = self.settings.max_resultats
        start = state.page * size
        page = screened.routed[start : start + size]
        out.trace.eligibility = screened.verdicts
        state.asking = None
        lines: list[str] = [intro] if intro else []
        if screened.refused and not page:
            self._explain_refusal(state, commune, screened.refused, out, lines)
            return
        if not page:
            lines.append(self._nothing_found(state, commune, result.radius_km))
            out.say("\n".join(lines), self._after_results_choices(state, False))
            return
        if result.widened:
            radius = self.orientation.meta_for(commune).recherche.rayon_defaut_km
            lines.append(
                t(lang, "results_widened", rayon=_fmt_km(radius), max=_fmt_km(result.radius_km))
            )
        else:
            lines.append(t(lang, "results_intro", commune=commune.name))
        lines += self.orientation.listing(page, start, lang)
        lines += [self._refusal_line(c, v, lang) for c, v in screened.refused.items()]
        more = len(screened.routed) > start + size
        self._say_routed(out, lines, page, self._after_results_choices(state, more, page))
        out.usage += [
            UsageEvent("orientation", state.need, r.proposal.place.categorie, commune.dept,
                       state.referral)
            for r in page
        ]  # fmt: skip

    def _explain_refusal(
        self,
        state: ConversationState,
        commune: Commune,
        refused: dict[str, Verdict],
        out: _Out,
        lines: list[str],
    ) -> None:
        """Out of reach (a CJS at 15): say so kindly, then the best alternatives and a referent."""
        lang = state.lang
        lines += [self._refusal_line(cat, verdict, lang) for cat, verdict in refused.items()]
        instead = self.orientation.rule_alternatives([v.rule_id for v in refused.values()])
        shown = self.orientation.alternatives(state, instead, commune, limit=2)
        if shown:
            lines.append(t(lang, "alternatives"))
            lines += self.orientation.listing(shown, 0, lang)
        referent = self.orientation.referent_for_person(state, commune)
        if referent:
            lines.append(t(lang, "results_none_referent", referent=referent))
        self._say_routed(out, lines, shown, self._after_results_choices(state, False, shown))

    def _no_tzcld(self, state: ConversationState, commune: Commune, out: _Out, intro: str) -> None:
        """No zéro-chômeur territory here: say so, then the nearest IAE structures."""
        lang = state.lang
        out.trace.eligibility = {"ebe_tzcld": "non_eligible"}
        state.categories = []
        state.asking = None
        lines = [intro] if intro else []
        lines.append(t(lang, "tzcld_outside", commune=commune.name))
        instead = self.orientation.rule_alternatives(["tzcld"]) or ["aci", "ei", "ai"]
        shown = self.orientation.alternatives(state, instead, commune, self.settings.max_resultats)
        if shown:
            lines.append(t(lang, "alternatives"))
            lines += self.orientation.listing(shown, 0, lang)
        self._say_routed(out, lines, shown, self._after_results_choices(state, False, shown))

    def _say_routed(
        self, out: _Out, lines: list[str], shown: Sequence[Routed], choices: Sequence[Choice]
    ) -> None:
        out.trace.structures = [trace_entry(r) for r in shown]
        out.say("\n\n".join(lines), choices, structures=tuple(card(r) for r in shown))

    def _refusal_line(self, categorie: str, verdict: Verdict, lang: str) -> str:
        label = category_label(self.kb, categorie, lang)
        line = t(lang, "not_eligible_intro", categorie=label)
        if verdict.explanation:
            line += " " + verdict.explanation
        if verdict.decide_par:
            line += " " + t(lang, "decides", qui=verdict.decide_par.rstrip(".").lower())
        return line

    def _nothing_found(self, state: ConversationState, commune: Commune, max_km: float) -> str:
        lang = state.lang
        if state.page > 0:
            return t(lang, "no_more")
        text = t(lang, "results_none", max=_fmt_km(max_km), commune=commune.name)
        referent = self.orientation.referent_for_person(state, commune)
        if referent:
            text += "\n" + t(lang, "results_none_referent", referent=referent)
        return text

    # --- questions --------------------------------------------------------------------------------

    def _ask(
        self,
        state: ConversationState,
        asking: str,
        out: _Out,
        hint: str | None = None,
        intro: str = "",
    ) -> None:
        lang = state.lang
        state.asking = asking
        if asking not in state.asked and asking != "commune":
            state.asked.append(asking)
        choices: list[Choice] = []
        extra: dict[str, Any] = {}
        if asking == "commune":
            text = t(lang, "ask_commune") + " " + t(lang, "ask_commune_location")
            extra["request_location"] = True
        elif asking == "age":
            text = t(lang, "ask_age")
        elif asking == "situation":
            if state.need == "emploi_handicap":
                text = t(lang, "ask_rqth")
                choices = [
                    Choice("sit:RQTH", t(lang, "yes")),
                    Choice("sit:none", t(lang, "no")),
                    Choice("skip", t(lang, "skip")),
                ]
            else:
                text = t(lang, "ask_situation")
                choices = [
                    Choice(f"sit:{s}", self.orientation.statut_label(s, lang))
                    for s in SITUATION_CHOICES
                ]
                choices += [
                    Choice("sit:none", "Aucune de celles-ci" if lang == "fr" else "None"),
                    Choice("skip", t(lang, "skip")),
                ]
        elif asking == "duree_sans_emploi":
            text = t(lang, "ask_duree_sans_emploi")
        elif asking == "residence_depuis":
            text = t(lang, "ask_residence_depuis")
        else:
            text = t(lang, "menu_prompt")
            choices = list(self._menu_choices(lang))
        parts = [p for p in (intro, hint, text) if p]
        out.say("\n".join(parts), choices, **extra)

    def _ask_which_commune(
        self, state: ConversationState, communes: list[Commune], out: _Out
    ) -> None:
        lang = state.lang
        state.asking = "confirmation_commune"
        state.pending_communes = [c.insee for c in communes[:5]]
        choices = [Choice(f"commune:{c.insee}", f"{c.name} ({c.dept})") for c in communes[:5]]
        choices.append(Choice("commune:none", t(lang, "commune_none_of_these")))
        out.say(t(lang, "commune_which"), choices)

    def _skip_current(self, state: ConversationState) -> None:
        if state.asking == "situation":
            self._set_situation(state, [])
        elif state.asking and state.asking not in state.asked:
            state.asked.append(state.asking)
        state.asking = None

    def _set_situation(self, state: ConversationState, statuts: Sequence[str]) -> None:
        for s in statuts:
            if s not in state.facts.statuts:
                state.facts.statuts.append(s)
        state.facts.statuts_connus = True
        if "situation" not in state.asked:
            state.asked.append("situation")
        if state.asking == "situation":
            state.asking = None

    def _absorb_facts(self, state: ConversationState, heard: Understood) -> None:
        """Keep every fact the message gave; a fact said again replaces the old one."""
        facts = state.facts
        if heard.age is not None:
            facts.age = heard.age
        facts.statuts += [s for s in heard.statuts if s not in facts.statuts]
        if heard.sans_emploi_mois is not None:
            facts.sans_emploi_mois = heard.sans_emploi_mois
        if heard.residence_mois is not None:
            facts.residence_depuis_mois = heard.residence_mois
        long_term = facts.sans_emploi_mois is not None and facts.sans_emploi_mois >= 24
        if long_term and "DETLD" not in facts.statuts:
            facts.statuts.append("DETLD")

    # --- FAQ, out of scope, emergencies, not understood ------------------------------------------

    def _faq_ambiguous(self, heard: Understood) -> bool:
        if len(heard.faq) < 2:
            return False
        return heard.faq[0].score - heard.faq[1].score < self.settings.ecart_ambiguite and (
            heard.faq[0].score < 97
        )

    def _answer_faq(self, state: ConversationState, faq_id: str, out: _Out) -> None:
        faq = self.kb.faq[faq_id]
        lang = state.lang
        state.last_faq = faq_id
        state.pending_faq = []
        out.trace.faq = [faq_id]
        out.usage.append(UsageEvent(kind="faq", categorie=faq_id, departement=self._dept(state)))
        choices: list[Choice] = []
        if state.need:
            choices.append(Choice(f"need:{state.need}", self._need_label(state.need, lang)))
        else:
            for cat_id in faq.categories:
                needs = [n for n in self.kb.needs.values() if cat_id in n.categories]
                if needs and all(c.id != f"need:{needs[0].id}" for c in choices):
                    choices.append(
                        Choice(f"need:{needs[0].id}", self._need_label(needs[0].id, lang))
                    )
                if len(choices) >= 2:
                    break
        choices += [Choice("menu", t(lang, "other_need")), Choice("human", t(lang, "human"))]
        out.say(faq_text(faq, lang), choices)

    def _did_you_mean(self, state: ConversationState, heard: Understood, out: _Out) -> None:
        lang = state.lang
        low = self.settings.faq_seuil_bas
        options = [s.id for s in heard.faq[:3] if s.score >= low - 5]
        state.pending_faq = options
        choices = [Choice(f"faq:{f}", self._faq_question(f, lang)) for f in options]
        choices.append(Choice("menu", t(lang, "none_of_these")))
        out.trace.faq = []
        out.say(t(lang, "did_you_mean"), choices)

    def _on_out_of_scope(self, state: ConversationState, topic: str, out: _Out) -> None:
        lang = state.lang
        entry = next(h for h in self.kb.national.hors_perimetre if h.id == topic)
        text = entry.reponse_en if (lang == "en" and entry.reponse_en) else entry.reponse
        out.trace.need = "hors_perimetre"
        out.usage.append(
            UsageEvent(kind="hors_perimetre", categorie=topic, departement=self._dept(state))
        )
        out.say(text.strip(), self._menu_choices(lang))

    def _on_urgence(self, state: ConversationState, out: _Out) -> None:
        lang = state.lang
        numbers = list(self.kb.national.urgences)
        meta = self.orientation.home_meta()
        if meta is not None:
            numbers = list(meta.urgences) + [
                u for u in numbers if u.numero not in {m.numero for m in meta.urgences}
            ]
        lines = [t(lang, "urgence")]
        for u in numbers:
            label = u.libelle_en if (lang == "en" and u.libelle_en) else u.libelle
            lines.append(f"☎ {u.numero} — {label}")
        lines.append(t(lang, "urgence_after"))
        out.trace.need = "urgence"
        out.usage.append(UsageEvent(kind="urgence", need="urgence", departement=self._dept(state)))
        out.say(
            "\n".join(lines),
            [Choice("human", t(lang, "human")), Choice("menu", t(lang, "other_need"))],
        )

    def _not_understood(self, state: ConversationState, heard: Understood, out: _Out) -> None:
        lang = state.lang
        best = heard.faq[0] if heard.faq else None
        out.trace.need = "information" if state.need is None else state.need
        out.unanswered.append(
            Unanswered(
                text=heard.raw[:500],
                best_match=best.id if best else None,
                score=best.score if best else None,
                departement=self._dept(state),
            )
        )
        out.usage.append(UsageEvent(kind="non_compris", departement=self._dept(state)))
        choices = [*self._menu_choices(lang), Choice("human", t(lang, "human"))]
        out.say(t(lang, "not_understood"), choices)

    # --- a human ---------------------------------------------------------------------------------

    def _find_referent(
        self, state: ConversationState, kind: str, place: Resolution | None, out: _Out
    ) -> None:
        """ "Où est la mission locale ?": the nearest one, once the commune is known."""
        lang = state.lang
        out.trace.need = "information"
        if place is not None and place.status == "found":
            state.facts.commune = place.candidates[0].commune.insee
        commune = self._commune(state)
        if commune is None:
            state.referent_wanted = kind
            self._ask(state, "commune", out)
            return
        state.referent_wanted = None
        found = self.orientation.nearest_referent_place([kind], commune)
        cat = self.kb.categories.get(kind)
        label = (
            (cat.libelle_en if lang == "en" and cat.libelle_en else cat.libelle) if cat else kind
        )
        if found is None:
            out.say(t(lang, "referent_none", kind=label, commune=commune.name),
                    self._menu_choices(lang))  # fmt: skip
            return
        routed = Routed(found, None, None)
        lines = [t(lang, "referent_found", kind=label, commune=commune.name),
                 proposal_text(self.kb, routed, 1, lang)]  # fmt: skip
        choices = [Choice("human", t(lang, "human")), Choice("menu", t(lang, "other_need"))]
        self._say_routed(out, lines, [routed], choices)

    def _offer_human(self, state: ConversationState, out: _Out) -> None:
        lang = state.lang
        lines = [t(lang, "human_intro")]
        commune = self._commune(state)
        meta = self.orientation.meta_for(commune) if commune else self.orientation.home_meta()
        if meta is not None and meta.conseiller is not None:
            c = meta.conseiller
            contact = " · ".join(p for p in (c.nom, c.telephone, c.courriel) if p)
            lines.append(t(lang, "human_contact", contact=contact))
        if commune is not None:
            referent = self.orientation.referent_for_person(state, commune)
            if referent:
                lines.append(t(lang, "human_referent", referent=referent))
        out.trace.faq = ["faq_parler_humain"] if "faq_parler_humain" in self.kb.faq else []
        choices = [
            Choice("cb:ask", t(lang, "callback_offer")),
            Choice("menu", t(lang, "other_need")),
        ]
        out.say("\n".join(lines), choices)

    def _on_callback_choice(self, state: ConversationState, value: str, out: _Out) -> None:
        lang = state.lang
        if value == "ask":
            state.asking = "consentement"
            out.say(
                t(lang, "callback_consent"),
                [Choice("cb:yes", t(lang, "yes")), Choice("cb:no", t(lang, "no"))],
            )
        elif value == "yes":
            state.asking = "telephone"
            out.say(t(lang, "callback_ask_phone"))
        else:
            state.asking = None
            out.say(t(lang, "callback_declined"), self._menu_choices(lang))

    def _record_callback(self, state: ConversationState, phone: str, out: _Out) -> None:
        lang = state.lang
        out.callbacks.append(
            CallbackRequest(
                phone=phone,
                moment=None,
                commune=state.facts.commune,
                need=state.need,
                referral=state.referral,
            )
        )
        out.usage.append(
            UsageEvent(
                kind="rappel",
                need=state.need,
                departement=self._dept(state),
                referral=state.referral,
            )
        )
        state.callback_requested = True
        state.asking = None
        out.say(t(lang, "callback_done"), self._menu_choices(lang))

    # --- small helpers ----------------------------------------------------------------------------

    def _menu_choices(self, lang: str) -> tuple[Choice, ...]:
        return tuple(
            Choice(f"need:{n.id}", n.libelle_en if lang == "en" else n.libelle)
            for n in self.kb.needs.values()
            if n.id in NEEDS[:10]
        )

    def _after_results_choices(
        self, state: ConversationState, more: bool, shown: Sequence[Routed] = ()
    ) -> list[Choice]:
        lang = state.lang
        choices: list[Choice] = []
        if more:
            choices.append(Choice("more", t(lang, "more")))
        for r in shown:
            cat = self.kb.categories.get(r.proposal.place.categorie)
            if cat and cat.faq and cat.faq[0] in self.kb.faq and len(choices) < 2:
                faq_choice = Choice(f"faq:{cat.faq[0]}", self._faq_question(cat.faq[0], lang))
                if faq_choice not in choices:
                    choices.append(faq_choice)
        choices += [Choice("menu", t(lang, "other_need")), Choice("human", t(lang, "human"))]
        return choices

    def _current_choices(self, state: ConversationState) -> list[Choice]:
        return [Choice(i, label) for i, label in state.choices]

    def _prepend_privacy(self, state: ConversationState, out: _Out) -> None:
        notice = t(state.lang, "privacy")
        if out.replies:
            first = out.replies[0]
            out.replies[0] = Reply(
                f"{notice}\n\n{first.text}", first.choices, first.structures, first.request_location
            )
        else:
            out.say(notice)

    def _faq_question(self, faq_id: str, lang: str) -> str:
        faq = self.kb.faq[faq_id]
        return faq.question_en if (lang == "en" and faq.question_en) else faq.question

    def _need_label(self, need_id: str, lang: str) -> str:
        need = self.kb.needs.get(need_id)
        if need is None:
            return need_id
        return need.libelle_en if lang == "en" else need.libelle

    def _commune(self, state: ConversationState) -> Commune | None:
        return self.gazetteer.get(state.facts.commune) if state.facts.commune else None

    def _dept(self, state: ConversationState) -> str:
        commune = self._commune(state)
        return commune.dept if commune is not None else self.orientation.home


def _parse_payload(payload: str) -> tuple[str | None, dict[str, str]]:
    """`CODE[__b-<need>][__c-<insee>]` (Telegram allows 64 chars of [A-Za-z0-9_-])."""
    parts = [p for p in payload.strip().split("__") if p]
    if not parts:
        return None, {}
    code = parts[0].upper() if re.fullmatch(r"[A-Za-z0-9-]{2,40}", parts[0]) else None
    presets: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("-")
        if key in {"b", "c"} and value:
            presets[key] = value
    return code, presets


def _trace_asking(asking: str | None) -> str | None:
    return "consentement" if asking == "telephone" else asking


def _months(value: int | None, lang: str) -> str | None:
    return None if value is None else t(lang, "months", n=value)


def _fmt_km(value: float) -> str:
    return f"{value:g}"


_FRENCH_MARKERS = frozenset(
    ["je", "suis", "cherche", "bonjour", "travail", "quoi", "une", "pour", "habite"]
)


def _looks_french(folded: str) -> bool:
    return sum(w in _FRENCH_MARKERS for w in folded.split()) >= 2
