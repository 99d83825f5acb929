"""Slots: what the frame tells about the person goes into the state, before any act speaks.

Every fact heard is kept, in any wording and whatever was asked: a fact said again replaces
the old one; a situation said is added. The need changes when the person asks for something
else; a pure question ("c'est quoi le pass IAE ?") does not start an orientation.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversation.frame import Frame
from bot.conversation.state import ConversationState
from bot.kb.knowledge import KnowledgeBase
from bot.places import Resolution, distance_km

NONE_OF_THESE = ""  # the value of a "statuts" evidence meaning "none of these situations"
BARE_NAME_WORDS = 3  # a structure's name alone, asked ("garage solidaire ?"), asks for one
CLEAR_NEED = 8.0  # need points beyond what naming one structure gives (a phrase: 3, + its cues)


@dataclass(frozen=True, slots=True)
class Update:
    state: ConversationState
    moves_orientation: bool  # something the orientation can use was said or chosen
    information_only: bool  # a question about something, not a request to be oriented
    settled: str | None = None  # the question the person just answered (or skipped)
    facts_only: bool = False  # new facts about the person, and no request


def absorb(frame: Frame, state: ConversationState, kb: KnowledgeBase) -> Update:
    new = state.copy()
    before = (new.need, new.facts.commune, new.asking)
    changed_facts = _absorb_facts(frame, new, kb)
    information_only = _information_only(frame, state)
    need = frame.need_pick or (None if information_only else frame.main_need)
    answering = state.asking in {f.id for f in kb.faits}
    if answering and not frame.wish and not frame.need_pick:
        need = None  # "ça fait trois ans que je suis au chômage" answers; it asks nothing new
    topic: list[str] = []
    if need is None and state.need is None and frame.wish and state.faq_seen:
        need = _need_of_faq(state.faq_seen[-1], kb)  # "j'en cherche un à Nevers"
        topic = list(state.topic)
    if frame.menu:
        new.forget_need()
    if need is not None and need in kb.needs:
        new.set_need(need)
        if new.asking == "besoin":
            new.asking = None
    if information_only and frame.categories:
        new.topic = list(frame.categories)  # what "un" means in "j'en cherche un"
    if new.need is not None and (frame.categories or topic) and not information_only:
        allowed = set(kb.needs[new.need].categories)
        named = [c for c in (frame.categories or tuple(topic)) if c in allowed]
        if named:
            new.categories = named
    elif need is not None and need in kb.needs and frame.context_categories:
        # where the person works already is not proposed ("en CDDI au chantier … après, une
        # vraie entreprise"): the next steps are
        offered = kb.needs[need].categories
        further = [c for c in offered if c not in frame.context_categories]
        if further and len(further) < len(offered):
            new.categories = further
    place = frame.home
    if place is not None:
        resolution = place.resolution
        if resolution.status == "found":
            new.facts.commune = resolution.candidates[0].commune.insee
            new.pending_communes = []
        elif resolution.status == "ambiguous" and (near := _neighbours(resolution)) is not None:
            new.facts.commune = near  # Château-Chinon (Ville) or (Campagne): the same area
            new.pending_communes = []
        elif resolution.status == "ambiguous" and (near := _next_to(resolution, frame)):
            new.facts.commune = near  # "Margny, à côté de Compiègne"
            new.pending_communes = []
        elif resolution.status == "ambiguous":
            new.pending_communes = [m.commune.insee for m in resolution.candidates[:5]]
    commune_asked = new.asking in ("commune", "confirmation_commune")
    if commune_asked and new.facts.commune is not None and not new.pending_communes:
        new.asking = None  # answered
    if frame.asks_more and new.results_shown:
        new.page += 1
    new.followed_by += [r for r in frame.context_referents if r not in new.followed_by]
    moved = (
        (new.need, new.facts.commune) != before[:2]
        or (changed_facts and (before[2] is not None or state.results_shown))
        or (frame.asks_more and new.results_shown)
        or bool(new.pending_communes and place is not None)
        or need is not None  # a request, even said again, is answered
    )
    settled = before[2] if before[2] is not None and new.asking is None else None
    return Update(new, moved, information_only, settled, facts_only=changed_facts and need is None)


def _information_only(frame: Frame, state: ConversationState) -> bool:
    """A question with no request: answer it, do not start an orientation. A place said with
    a question is a request ("un garage solidaire à Sedan ?"), except with a definition
    question ("je vis à Pantin, le CDD Tremplin, c'est quoi ?") that says no need of its own
    besides the word defined ("c'est quoi un garage solidaire ? ma clio fait un bruit quand je
    freine, je suis à Noisy" says one)."""
    if frame.need_pick or not frame.is_question or frame.wish or state.asking == "besoin":
        return False
    if frame.categories and frame.words <= BARE_NAME_WORDS and not frame.defines:
        return False  # "garage solidaire ?": where is one
    if frame.home is None:
        return True
    said_clearly = bool(frame.needs) and frame.needs[0].score >= CLEAR_NEED
    return frame.defines and not said_clearly


def _absorb_facts(frame: Frame, state: ConversationState, kb: KnowledgeBase) -> bool:
    """Keep every fact heard; True when something new was learnt or a question was settled."""
    facts = state.facts
    changed = False
    asked_situation = state.asking == "situation"
    for evidence in frame.facts:
        if evidence.fact == "statuts":
            if evidence.value == NONE_OF_THESE:
                facts.statuts_connus = True
                changed = True
            elif isinstance(evidence.value, str) and evidence.value not in facts.statuts:
                facts.statuts.append(evidence.value)
                changed = True
        elif isinstance(evidence.value, int) and facts.numbers.get(evidence.fact) != evidence.value:
            facts.numbers[evidence.fact] = evidence.value
            changed = True
    if asked_situation and (frame.said("statuts") or frame.skip or frame.no):
        facts.statuts_connus = True
        changed = True
    asked_fact = next((f for f in kb.faits if f.id == state.asking), None)
    if asked_fact is not None and (frame.skip or state.facts.known(asked_fact.fait)):
        state.asking = None  # answered, or "je ne sais pas": never asked again either way
        changed = True
    return changed


NEXT_TO_KM = 8  # "Margny, à côté de Compiègne": the homonym this close to the other place
NEIGHBOURS_KM = 6  # a town and its small namesake this close share their structures
SMALL_SHARE = 0.34  # … when the namesake has at most a third of the town's people


def _next_to(resolution: Resolution, frame: Frame) -> str | None:
    """The one homonym next to another place the message names ("j'habite à Margny, à côté de
    Compiègne": Margny-lès-Compiègne, not Margny in the Ardennes)."""
    others: list[tuple[float, float]] = []
    for place in frame.places:
        if place.resolution is resolution or place.resolution.status != "found":
            continue
        other = place.resolution.candidates[0].commune
        if other.lat is not None and other.lon is not None:
            others.append((other.lat, other.lon))
    close = {
        m.commune.insee
        for m in resolution.candidates
        if m.commune.lat is not None and m.commune.lon is not None
        for lat, lon in others
        if distance_km(m.commune.lat, m.commune.lon, lat, lon) <= NEXT_TO_KM
    }
    return close.pop() if len(close) == 1 else None


def _neighbours(resolution: Resolution) -> str | None:
    """Château-Chinon (Ville) for "château chinon": a town and its small namesake next to it
    (Château-Chinon (Campagne)) need no question. Two real towns (Noisy-le-Sec,
    Noisy-le-Grand) do."""
    communes = sorted(
        (m.commune for m in resolution.candidates), key=lambda c: -(c.population or 0)
    )
    town = communes[0]
    if len({c.dept for c in communes}) != 1 or town.lat is None or town.lon is None:
        return None
    for other in communes[1:]:
        if other.lat is None or other.lon is None:
            return None
        far = distance_km(town.lat, town.lon, other.lat, other.lon) > NEIGHBOURS_KM
        if far or (other.population or 0) > SMALL_SHARE * (town.population or 0):
            return None
    return town.insee


def _need_of_faq(faq_id: str, kb: KnowledgeBase) -> str | None:
    """The need a FAQ is about: the first need that has its first category."""
    faq = kb.faq.get(faq_id)
    for categorie in faq.categories[:1] if faq else []:
        for need in kb.needs.values():
            if categorie in need.categories:
                return need.id
    return None
