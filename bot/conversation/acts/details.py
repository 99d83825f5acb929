"""Questions about the structures just shown: "plus d'infos sur le 1", "c'est où ?", "ya un
numéro ?", "ils sont ouverts quand ?", "c'est payant ?", "comment s'inscrire ?", "c'est loin ?",
"en bus ?". The list shown is kept in the state; what a record does not say is said honestly.
"""

from __future__ import annotations

from bot.conversation.act import Act, Services, TurnInfo
from bot.conversation.acts import answer
from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.hours import today_state, week
from bot.messages import Choice
from bot.orientation import Routed
from bot.places import Commune
from bot.present import (
    address_text,
    card,
    cost_text,
    details_text,
    distance_to,
    field,
    how_to_get_in,
    km,
    labelled,
    phone_text,
    remote,
    trace_entry,
)
from bot.ranking import Place, Proposal
from bot.texts import t

MAX_WORDS = 14  # a longer message is about something else, even if it says "bus"


def act(frame: Frame, state: ConversationState, services: Services, turn: TurnInfo) -> Act | None:
    if not state.shown or not frame.about_results or frame.words > MAX_WORDS:
        return None
    trip = {"bus", "distance"} & set(frame.about_results)
    if frame.main_need and frame.main_need != state.need and not trip:
        return None  # a new need: the orientation answers it
    places = [_place(key, services) for key in state.shown]
    shown = [p for p in places if p is not None]
    if not shown:
        return None
    new = state.copy()
    lang = new.lang
    targets = _targets(frame.result_number, shown)
    if "tout" in frame.about_results and len(targets) > 1:
        which = [
            Choice(f"info:{i}", t(lang, "more_info_on", n=i)) for i in range(1, len(shown) + 1)
        ]
        return Act(new, t(lang, "which_one"), which, need="information")
    if answer.clear_faq(frame, services, new.need) and not _known(frame, targets):
        return None  # the records do not say it, the FAQ does ("c'est payant ?" for a CAE)
    commune = services.commune(new)
    now = services.clock()
    blocks: list[str] = []
    for number, place in targets:
        routed = _routed(place, commune, services, new)
        if "tout" in frame.about_results:
            blocks.append(details_text(services.kb, routed, number, commune, now, lang))
            continue
        lines = [f"{number}. {place.structure.nom}"]
        for aspect in frame.about_results:
            lines += _aspect(aspect, routed, services, new)
        blocks.append("\n".join(lines))
    choices: list[Choice] = []
    if "bus" in frame.about_results and new.need != "mobilite_accompagnement":
        label = services.need_label("mobilite_accompagnement", lang)
        choices.append(Choice("need:mobilite_accompagnement", label))
    choices += services.human_choices(lang)
    routed_targets = [_routed(p, commune, services, new) for _, p in targets]
    single = len(targets) == 1
    return Act(
        new,
        "\n\n".join(blocks),
        choices,
        structures=[card(r) for r in routed_targets] if single else [],
        venue=single,  # a Telegram venue, a Matrix geo: location (when it has a place)
        need="information",  # a question answered; the orientation goes on as it was
        trace_structures=[trace_entry(r) for r in routed_targets],
    )


ASPECT_FIELDS = {
    "adresse": ("adresse", "commune"),
    "telephone": ("telephone", "courriel"),
    "horaires": ("horaires_accueil",),
    "cout": ("frais", "frais_precisions"),
}


def _known(frame: Frame, targets: list[tuple[int, Place]]) -> bool:
    """Whether the records say what is asked (else a FAQ may say it better)."""
    for aspect in frame.about_results:
        names = ASPECT_FIELDS.get(aspect)
        if names is None or any(field(p, n) for _, p in targets for n in names):
            return True
    return False


def _place(key: str, services: Services) -> Place | None:
    orientation = services.orientation
    return orientation.services.by_key.get(key) or orientation.referents.by_key.get(key)


def _targets(number: int | None, shown: list[Place]) -> list[tuple[int, Place]]:
    numbered = list(enumerate(shown, start=1))
    if number == -1:
        return numbered[-1:]
    if number is not None and 1 <= number <= len(shown):
        return [numbered[number - 1]]
    return numbered


def _routed(
    place: Place, commune: Commune | None, services: Services, state: ConversationState
) -> Routed:
    proposal = Proposal(place, distance_to(place, commune), True)
    orientation = services.orientation
    referent = orientation.referent_name(state, place.categorie, commune) if commune else None
    return Routed(proposal, None, referent)


def _aspect(aspect: str, routed: Routed, services: Services, state: ConversationState) -> list[str]:
    lang = state.lang
    place = routed.proposal.place
    if aspect == "adresse":
        address = address_text(place)
        if address:
            return [f"📍 {address}"]
        return [t(lang, "remote_service")] if remote(place) else [t(lang, "unknown_address")]
    if aspect == "telephone":
        phone = phone_text(field(place, "telephone"))
        email = field(place, "courriel")
        if phone:
            return [f"☎ {phone}"]
        return [f"✉ {email}"] if email else [t(lang, "unknown_phone")]
    if aspect == "horaires":
        opening = field(place, "horaires_accueil")
        now = services.clock()
        said = (
            [p for p in (week(opening, now, lang), today_state(opening, now, lang)) if p]
            if (opening)
            else []
        )
        return (
            [f"🕘 {'. '.join(s[:1].upper() + s[1:] for s in said)}."]
            if said
            else [t(lang, "unknown_hours")]
        )
    if aspect == "cout":
        cost = cost_text(place, lang)
        return [labelled(lang, "cost", cost)] if cost else [t(lang, "unknown_cost")]
    if aspect == "acces":
        return how_to_get_in(services.kb, routed, lang)
    if aspect == "distance":
        distance = routed.proposal.distance_km
        if distance is None:
            return [t(lang, "remote_service")] if remote(place) else [t(lang, "unknown_address")]
        commune = services.commune(state)
        name = commune.name if commune else ""
        return [t(lang, "distance_from", km=km(distance, lang), commune=name)]
    if aspect == "bus":
        address = address_text(place)
        lines = [t(lang, "no_bus_data")]
        if address:
            lines.append(f"📍 {address}")
        return lines
    return []
