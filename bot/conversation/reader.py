"""Understanding: one message (or button, location, link) → one `Frame` of everything heard.

Deterministic and explainable; built once per knowledge base. The steps, in order:
1. fold and normalise (lexicon), cut into words (stems for matching);
2. situations (`statuts`; one said not to hold, "je ne suis plus au RSA", is not kept), an
   age, durations and dates (which fact each is about);
3. the phrases that say how things are meant: a request ("je cherche") or a context ("je suis
   salarié d'un", "mon conseiller de la"): a category or referent named in a context, or
   inside a situation ("je suis en CDDI au chantier"), is the person's situation, not what
   they ask for; the words of a topic out of scope are no need either;
4. needs scored by meaning: strong phrases, cue groups, named categories, situations; the
   main one first (`_main_first` gives the rules);
5. questions (sentence by sentence) and the FAQ they are about;
6. places with their role (home, destination, workplace, search);
7. safety, scope, small talk, a phone number, a referral code.
No decision is taken here: the planner (bot/conversation/planner.py) decides.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import phonenumbers

from bot.conversation import parsers, social
from bot.conversation.faq_match import FaqMatcher
from bot.conversation.frame import Evidence, Frame, PlaceHeard, PlaceRole, Scored
from bot.conversation.lexicon import Hit, PhraseIndex, Words
from bot.conversation.normalise import Lexicon
from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import AskableFact
from bot.places import Commune, Gazetteer, PlaceMatch, Resolution
from bot.text import fold

MAX_MESSAGE_CHARS = 2000
NEED_THRESHOLD = 3  # a need is heard from this many points (besoins.yaml explains the points)
PHRASE_POINTS = 3  # a strong phrase (mots_cles)
CATEGORY_POINTS = 6  # a category named (the name of a structure is a clear request)
CATEGORY_OTHER_POINTS = 2  # … and for the other needs it belongs to
NEAR_TOP = 1.0  # needs this close to the best one are as clearly said: the first said leads
FIRST_PERSON = frozenset({"je", "j", "i", "bghit", "أريد", "ابحث", "looking", "look", "help"})
ASKED_GAP = 3  # words allowed between a request phrase and the need it asks for
CONTEXT_GAP = 2  # words allowed between a context phrase and what it is about
EMPLOYER_FAMILIES = frozenset({"iae", "handicap", "territoire"})
JOB_SEEKER = "DEMANDEUR_EMPLOI"
_SENTENCE = re.compile(r"[^.!?؟\n]+[.!?؟]*")
_CODE_RE = re.compile(
    r"^\s*(?:code|mon code est|code conseiller)\s*:?\s*([A-Za-z0-9_-]{3,64})\s*$", re.IGNORECASE
)
# No valid number of any country has fewer digits (country code included: +43 and 4 digits).
MIN_PHONE_DIGITS = 6
_DIGIT = re.compile(r"\d")  # any decimal digit, as phonenumbers reads them
_BARE_CODE_RE = re.compile(r"^\s*([A-Za-z]{1,8}\d{2,3}(?:-[A-Za-z0-9]+)+)\s*$")
_WANTS_PLACE = re.compile(
    r"\b(ou est|ou se trouve|ou trouver|ou aller|adresse|contacter|joindre|numero de|"
    r"telephone de|horaires?|le plus proche|la plus proche|where is|address|contact)\b"
)


@dataclass(frozen=True, slots=True)
class Expecting:
    """What the bot just asked, so that a short answer is read as its answer."""

    fact: AskableFact | None = None  # an askable fact ("age": "24" is an age)
    commune: bool = False  # the commune: a short answer is a name, typos included


Vocabularies = tuple[tuple[object, ...], ...]


def _vocabularies(kb: KnowledgeBase) -> Vocabularies:
    """Everything of the base a reader's indexes are built from (its services are not), in
    order: the order counts ("else the first need that has it")."""
    named = (kb.categories, kb.needs, kb.faq)
    keys = [tuple(records) for records in named]
    records = [tuple(records.values()) for records in named]
    return (kb.lexique, kb.statuts, *keys, *records, (kb.national, kb.langage))


def _same_words(before: Vocabularies, now: Vocabularies) -> bool:
    """Whether two vocabularies are the same, order included: each record the same object (a
    reload keeps unchanged records) or one of the same text (`repr` keeps the order of the
    dictionaries in it, which `==` ignores; an unordered set may only make them differ)."""
    if [len(part) for part in before] != [len(part) for part in now]:
        return False
    return all(
        a is b or repr(a) == repr(b)
        for old, new in zip(before, now, strict=True)
        for a, b in zip(old, new, strict=True)
    )


class Reader:
    @classmethod
    def for_base(
        cls,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        home_departement: str,
        today: Callable[[], dt.date],
        earlier: Reader | None = None,
    ) -> Reader:
        """A reader of `kb`; `earlier`'s indexes are kept when it was built from the same
        vocabularies, in the same order, with the same gazetteer (after most reloads: only
        services changed)."""
        words = _vocabularies(kb)
        if (
            earlier is None
            or earlier._gazetteer is not gazetteer
            or earlier._home != home_departement
            or not _same_words(earlier._vocabularies, words)
        ):
            return cls(kb, gazetteer, home_departement, today)
        kept = copy.copy(earlier)
        # this base's records, so that the next reload compares objects, not texts
        kept._kb, kept._today, kept._vocabularies = kb, today, words
        return kept

    def __init__(
        self,
        kb: KnowledgeBase,
        gazetteer: Gazetteer,
        home_departement: str,
        today: Callable[[], dt.date],
    ) -> None:
        self._kb = kb
        self._vocabularies = _vocabularies(kb)
        self._gazetteer = gazetteer
        self._home = home_departement
        self._today = today
        self._lexicon = Lexicon((e.terme, e.variantes) for e in kb.lexique)
        # A turn normalises the same text up to three times (a typed choice, the message, its
        # one sentence): the last texts are kept.
        self._normalised = functools.lru_cache(maxsize=64)(self._lexicon.normalise)
        structures = [c for c in kb.categories.values() if c.famille != "orienteur"]
        # One index for every named thing, so that the longest phrase wins where they overlap:
        # "zéro chômeur" is a need, not the situation "chômeur"; "salarié d'un chantier
        # d'insertion" is a situation, not a wish for a chantier.
        named: list[tuple[str, list[str]]] = []
        named += [
            (f"s:{s.id}", [s.id, s.libelle, *s.synonymes, *_flat(s.synonymes_langues.values())])
            for s in kb.statuts
        ]
        # Short acronyms are words too ("AI" / "j'ai", "EA"): they count only in capitals.
        named += [
            (
                f"c:{c.id}",
                [*(a for a in c.sigles if len(a) > 2), *c.synonymes,
                 *_flat(c.synonymes_langues.values())],
            )
            for c in structures
        ]  # fmt: skip
        named += [
            (f"r:{c.id}", [*(a for a in c.sigles if len(a) > 3), *c.synonymes])
            for c in kb.categories.values()
            if c.famille == "orienteur"
        ]
        named += [
            (f"n:{n.id}", [*n.mots_cles, *n.mots_cles_en, *_flat(n.mots_cles_langues.values())])
            for n in kb.needs.values()
        ]
        self._named = self._index(named)
        self._urgence = self._index([("urgence", kb.national.urgence_mots_cles)])
        self._out_of_scope = self._index((h.id, h.mots_cles) for h in kb.national.hors_perimetre)
        self._acronyms = [
            (c.id, re.compile(rf"\b{re.escape(a.upper())}\b"))
            for c in structures
            for a in c.sigles
            if len(a) <= 2
        ]
        self._cue_weight: dict[str, tuple[str, int]] = {}
        self._only_with_another: set[str] = set()
        cue_entries: list[tuple[str, list[str]]] = []
        self._statut_cues: dict[str, list[tuple[str, str, int]]] = {}
        for need in kb.needs.values():
            for i, cue in enumerate(need.indices):
                key = f"{need.id}#{i}"
                self._cue_weight[key] = (need.id, cue.poids)
                if cue.avec_un_autre:
                    self._only_with_another.add(key)
                if cue.mots:
                    cue_entries.append((key, cue.mots))
                for statut in cue.statuts:
                    self._statut_cues.setdefault(statut, []).append((need.id, key, cue.poids))
        # one index per need: the cues of one need never hide those of another
        by_need: dict[str, list[tuple[str, list[str]]]] = {}
        for key, words in cue_entries:
            by_need.setdefault(key.split("#")[0], []).append((key, words))
        self._cues = [self._index(entries) for entries in by_need.values()]
        # A category named is first of all the need it heads ("plateforme_mobilite": getting
        # around), else the first need that has it ("etti": a job).
        self._first_need_of: dict[str, str] = {}
        self._needs_of: dict[str, list[str]] = {}
        for need in kb.needs.values():
            for position, cat in enumerate(need.categories):
                self._needs_of.setdefault(cat, []).append(need.id)
                if position == 0:
                    self._first_need_of.setdefault(cat, need.id)
        for cat, needs in self._needs_of.items():
            self._first_need_of.setdefault(cat, needs[0])
        for category in kb.categories.values():
            if category.besoin is not None:
                self._first_need_of[category.id] = category.besoin
        self._employed_statuts = frozenset(s.id for s in kb.statuts if s.en_emploi)
        self._precise_of = {n.id: n.precise for n in kb.needs.values() if n.precise}
        self._employer_needs = frozenset(
            n.id
            for n in kb.needs.values()
            if n.categories
            and all(
                kb.categories[c].famille in EMPLOYER_FAMILIES
                for c in n.categories
                if c in kb.categories
            )
        )
        self._social = social.Social(kb.langage, self._normalise_phrase)
        self._requests = self._index([("demande", kb.langage.demandes)])
        self._about_results = self._index(kb.langage.resultats.items())
        self._contexts = self._index([("contexte", kb.langage.contextes)])
        self._faq = FaqMatcher(kb.faq.values(), self.normalise)
        # other names of communes, in Latin letters ("Mézières" for Charleville-Mézières)
        self._other_names = PhraseIndex(
            (insee, [n for n in names if not any("\u0600" <= ch <= "\u06ff" for ch in n)])
            for insee, names in kb.langage.noms_de_communes.items()
            if gazetteer.get(insee) is not None
        )
        self._other_scripts = [
            (re.compile(rf"(?<!\w){re.escape(name)}(?!\w)"), commune.name)
            for insee, names in kb.langage.noms_de_communes.items()
            if (commune := gazetteer.get(insee)) is not None
            for name in sorted(names, key=len, reverse=True)
        ]
        self._jobless_fact = "sans_emploi_mois"
        self._resident_fact = "residence_depuis_mois"

    # --- normalisation -------------------------------------------------------------------------

    def _index(self, entries: Iterable[tuple[str, Iterable[str]]]) -> PhraseIndex:
        """A phrase index of knowledge-base phrases, normalised like the messages they match
        ("bosser cet été" is looked for as "travail cet ete")."""
        return PhraseIndex(
            (owner, [self._normalise_phrase(p) for p in phrases]) for owner, phrases in entries
        )

    def _normalise_phrase(self, phrase: str) -> str:
        wildcard = phrase.rstrip().endswith("*")
        normalised = self._lexicon.normalise(phrase.rstrip().rstrip("*"))
        return normalised + "*" if wildcard and normalised else normalised

    def normalise(self, text: str) -> str:
        return self._normalised(text)

    # --- a message -----------------------------------------------------------------------------

    def read(self, text: str, expecting: Expecting = Expecting()) -> Frame:
        truncated = len(text) > MAX_MESSAGE_CHARS
        raw = text[:MAX_MESSAGE_CHARS]
        normalised = self.normalise(raw)
        if not normalised:
            return Frame(raw=raw, truncated=truncated, says_nothing=True)
        words = Words.of(normalised)
        lang = social.language(normalised)
        moves = self._social.moves(words)
        numbers = parsers.digits(normalised, english=lang == "en")
        named = self._named.hits(words)
        said = _owned(named, "s:")
        starts = {h.start for h in said}
        wanted = self._requests.hits(words)
        statut_hits = [
            h
            for h in said
            if not _negated(words, h, starts)
            and not (h.owner in self._employed_statuts and _sought(words, h, wanted))
        ]
        facts = self._facts(numbers, statut_hits, expecting)
        contexts = self._contexts.hits(words)
        referent_hits = _owned(named, "r:")
        # Situation words and agency names are not needs ("sans voiture", "France Travail"),
        # nor the words of a topic out of scope ("residence permit" is no driving licence).
        blanked = _blank(words, [*statut_hits, *referent_hits])
        out_of_scope = self._out_of_scope.hits(blanked)
        blanked = _blank(blanked, out_of_scope)
        taken = {i for h in out_of_scope for i in range(h.start, h.end)}
        named = [h for h in named if not taken.intersection(range(h.start, h.end))]
        category_hits = _owned(named, "c:")
        # A structure named in the person's situation ("je suis en CDDI au chantier", "je
        # travaille en chantier d'insertion … le chantier est à 15 km") is where they are, not
        # what they ask for; so is the same kind of structure named again in the message.
        context_categories = [h.owner for h in category_hits if _in_context(h, contexts)]
        for said_hit in statut_hits:  # "je suis en chantier d'insertion": a situation
            context_categories += self._categories_within(words, said_hit)
        requested = [h for h in category_hits if h.owner not in context_categories]
        categories = [h.owner for h in requested]
        categories += [
            cat
            for cat, pattern in self._acronyms
            if pattern.search(raw) and cat not in context_categories
        ]
        statuts = [e.value for e in facts if e.fact == "statuts" and isinstance(e.value, str)]
        needs = self._score_needs(
            blanked,
            _owned(named, "n:"),
            category_hits,
            contexts,
            list(dict.fromkeys(categories)),
            statuts,
            frozenset(context_categories),
            [r for r in wanted if words.words[r.start] in FIRST_PERSON],
        )
        questions = self._question_sentences(raw)
        rankings = [self._faq.score(q) for q in dict.fromkeys([*questions, normalised])]
        faq = _best_of(rankings)
        # with several questions, what each of them (or the whole message) is best about
        faq_each = tuple(r[0] for r in rankings if r) if len(set(questions)) > 1 else ()
        return Frame(
            raw=raw,
            normalised=normalised,
            language=lang,  # type: ignore[arg-type]
            truncated=truncated,
            start_payload=_code(raw),
            urgence=bool(self._urgence.hits(words)),
            # "j'ai pas de diplôme" is a situation, not a question about training
            out_of_scope=out_of_scope[0].owner if out_of_scope else None,
            greeting=moves.greeting,
            thanks=moves.thanks,
            yes=moves.yes,
            no=moves.no,
            skip=moves.skip,
            asks_help=moves.asks_help,
            asks_human=moves.asks_human,
            asks_callback=moves.asks_callback,
            asks_more=moves.asks_more,
            facts=tuple(facts),
            needs=tuple(needs),
            categories=tuple(dict.fromkeys(categories)),
            context_categories=tuple(dict.fromkeys(context_categories)),
            referents=tuple(
                dict.fromkeys(h.owner for h in referent_hits if not _in_context(h, contexts))
            ),
            context_referents=tuple(
                dict.fromkeys(h.owner for h in referent_hits if _in_context(h, contexts))
            ),
            wants_place=bool(_WANTS_PLACE.search(normalised)),
            about_results=tuple(self._about_results.find(words)),
            result_number=_result_number(numbers),
            wish=any(not _in_context(h, contexts) for h in wanted),
            is_question=bool(questions) or "point d interrogation" in fold(raw),
            defines=moves.defines,
            faq=tuple(faq),
            faq_each=faq_each,
            places=self._places(raw, expecting, words),
            phone=_phone(raw),
            words=len(words),
        )

    # --- buttons, links, locations ---------------------------------------------------------------

    def read_choice(self, choice: str) -> Frame:
        """A choice the bot offered (already checked), as a frame."""
        kind, _, value = choice.partition(":")
        if kind == "need":
            return Frame(choice=choice, need_pick=value)
        if kind == "faq" and value in self._kb.faq:
            return Frame(choice=choice, faq_pick=value)
        if kind == "commune":
            commune = self._gazetteer.get(value) if value != "none" else None
            if commune is None:
                return Frame(choice=choice, places=(PlaceHeard(_not_found(), "home"),))
            return Frame(choice=choice, places=(PlaceHeard(_found(commune), "home"),))
        if kind == "sit":
            statut = "" if value == "none" else value
            return Frame(choice=choice, facts=(Evidence("statuts", statut, ""),))
        if kind == "skip":
            return Frame(choice=choice, skip=True)
        if kind == "more":
            return Frame(choice=choice, asks_more=True)
        if kind == "info" and value.isdigit():
            return Frame(choice=choice, about_results=("tout",), result_number=int(value))
        if kind == "menu":
            return Frame(choice=choice, menu=True)
        if kind == "human":
            return Frame(choice=choice, asks_human=True)
        return Frame(choice=choice)

    def read_start(self, payload: str) -> Frame:
        """A deep link `CODE[__b-<need>][__c-<insee>]` (Telegram: 64 chars of [A-Za-z0-9_-])."""
        code, presets = parse_payload(payload)
        need = presets.get("b")
        commune = self._gazetteer.get(presets.get("c", "")) if presets.get("c") else None
        places = (PlaceHeard(_found(commune), "home"),) if commune is not None else ()
        return Frame(
            command="start",
            start_payload=code,
            need_pick=need if need in self._kb.needs else None,
            places=places,
        )

    def read_location(self, lat: float, lon: float) -> Frame:
        commune = self._gazetteer.nearest(lat, lon)
        resolution = _found(commune) if commune is not None else _not_found()
        return Frame(places=(PlaceHeard(resolution, "home"),))

    def _question_sentences(self, raw: str) -> list[str]:
        """The normalised sentences of the message that are questions."""
        out: list[str] = []
        for sentence in _SENTENCE.findall(raw):
            normalised = self.normalise(sentence)
            if normalised and self._social.is_question(sentence, normalised):
                out.append(normalised)
        return out

    # --- facts ---------------------------------------------------------------------------------

    def _facts(
        self, numbers: str, statut_hits: Sequence[Hit], expecting: Expecting
    ) -> list[Evidence]:
        facts = [Evidence("statuts", h.owner, "") for h in statut_hits]
        facts = list({(e.fact, e.value): e for e in facts}.values())
        found_age = parsers.age_match(numbers, self._today())
        if found_age is not None:
            facts.append(Evidence("age", found_age[0], numbers[found_age[1] : found_age[2]]))
        durations = [
            d
            for d in parsers.durations(numbers, self._today())
            if found_age is None or d.end <= found_age[1] or d.start >= found_age[2]
        ]
        for fact, months, where in parsers.duration_facts(
            numbers, durations, self._jobless_fact, self._resident_fact
        ):
            facts.append(Evidence(fact, months, numbers[where.start : where.end]))
            if fact == self._jobless_fact and not any(e.value == JOB_SEEKER for e in facts):
                # without a job for months and saying so: a job seeker, for the pre-screen
                facts.append(Evidence("statuts", JOB_SEEKER, numbers[where.start : where.end]))
        asked = expecting.fact
        if (
            asked is not None
            and asked.type == "nombre"
            and not any(e.fact == asked.fait for e in facts)
        ):
            value = parsers.ANSWER_PARSERS[asked.analyseur](numbers, self._today())
            if value is not None and asked.min <= value <= asked.max:
                facts.append(Evidence(asked.fait, value, numbers))
        return facts

    def _categories_within(self, words: Words, hit: Hit) -> list[str]:
        """The categories named inside a situation's words ("en chantier d'insertion")."""
        for start in range(hit.start + 1, hit.end):
            inside = Words.from_stems(words.words[start : hit.end], words.stems[start : hit.end])
            found = _owned(self._named.hits(inside), "c:")
            if found:
                return [h.owner for h in found]
        return []

    # --- needs ---------------------------------------------------------------------------------

    def _score_needs(
        self,
        words: Words,
        phrases: Sequence[Hit],
        category_hits: Sequence[Hit],
        contexts: Sequence[Hit],
        categories: Sequence[str],
        statuts: Sequence[str],
        context_categories: Collection[str] = (),
        requests: Sequence[Hit] = (),
    ) -> list[Scored]:
        scores: dict[str, float] = {}
        first_seen: dict[str, int] = {}
        groups: dict[str, int] = {}
        asked_for: set[str] = set()  # needs said right after "je voudrais", "je cherche"…

        strong: set[str] = set()  # needs with a phrase or a cue of two points or more

        def add(need: str, points: float, position: int, in_text: bool = True) -> None:
            """`in_text`: the position is where the words are (not a situation's stand-in)."""
            if points >= 2:
                strong.add(need)
            scores[need] = scores.get(need, 0.0) + points
            first_seen[need] = min(first_seen.get(need, position), position)
            groups[need] = groups.get(need, 0) + 1
            if in_text and _asked(position, requests):
                asked_for.add(need)

        # The words of a strong phrase or of a category's name belong to them only.
        owned: dict[int, str] = {i: h.owner for h in category_hits for i in range(h.start, h.end)}
        # where the person works, named again ("… et le chantier est à 15 km"), asks nothing
        workplace = {
            i for h in category_hits if h.owner in context_categories for i in range(h.start, h.end)
        }
        phrased: set[str] = set()  # needs named by one of their phrases
        for hit in phrases:
            at_work = hit.owner in self._employer_needs and (
                _in_context(hit, contexts) or hit.start in workplace
            )
            if not at_work:
                phrased.add(hit.owner)
                add(hit.owner, PHRASE_POINTS, hit.start)
                owned.update({i: hit.owner for i in range(hit.start, hit.end)})
        counted: set[str] = set()
        waiting: list[Hit] = []  # cues that count only beside another cue of their need
        for hit in (h for index in self._cues for h in index.hits(words)):
            need, weight = self._cue_weight[hit.owner]
            if hit.owner in counted or any(i in owned for i in range(hit.start, hit.end)):
                continue
            if need in self._employer_needs and _in_context(hit, contexts):
                continue
            if hit.owner in self._only_with_another:
                waiting.append(hit)
                continue
            counted.add(hit.owner)
            add(need, weight, hit.start)
        refined: set[str] = set()  # needs heard through a combination ("business" + "young")
        for hit in waiting:
            need, weight = self._cue_weight[hit.owner]
            if need in strong and hit.owner not in counted:
                counted.add(hit.owner)
                refined.add(need)
                add(need, weight, hit.start)
        for statut in statuts:
            for need, key, weight in self._statut_cues.get(statut, ()):
                if key not in counted:
                    counted.add(key)
                    add(need, weight, len(words), in_text=False)
        for rank, cat in enumerate(categories):
            named_at = next((h.start for h in category_hits if h.owner == cat), None)
            for need in self._needs_of.get(cat, ()):
                first = self._first_need_of.get(cat) == need
                points = CATEGORY_POINTS if first else CATEGORY_OTHER_POINTS
                add(need, points, -100 + rank, in_text=False)
                if first and named_at is not None and _asked(named_at, requests):
                    asked_for.add(need)  # "je cherche une agence d'intérim qui aide…"
        heard = [(n, s) for n, s in scores.items() if s >= NEED_THRESHOLD]
        # Ties: the need heard through more different cues is the more specific one.
        heard.sort(key=lambda ns: (-ns[1], -groups[ns[0]], first_seen[ns[0]]))
        heard = self._main_first(heard, first_seen, refined, asked_for, phrased, statuts)
        return [Scored(n, s) for n, s in heard]

    def _main_first(
        self,
        heard: list[tuple[str, float]],
        first_seen: dict[str, int],
        refined: set[str],
        asked_for: set[str],
        phrased: set[str],
        statuts: Sequence[str],
    ) -> list[tuple[str, float]]:
        """The needs heard, the main one first: by score, then, in turn, the one said first
        among the nearly equal; the one asked for in the first person; a precise form named
        (an EBE) before its general need (a job); and, for someone who has a job, a need other
        than an employer (an employer only if asked for)."""
        if len(heard) > 1:
            # Two needs said as clearly: the one said first is the main one ("je cherche du
            # travail et ma voiture est en panne").
            top = heard[0][1]
            near = [ns for ns in heard if ns[1] >= top - NEAR_TOP]
            # a need heard through a combination refines the general one next to it
            near = [ns for ns in near if ns[0] in refined] or near
            said_first = min(near, key=lambda ns: first_seen[ns[0]])
            heard.remove(said_first)
            heard.insert(0, said_first)
        main = heard[0][0] if heard else ""
        if len(heard) > 1 and main not in asked_for:
            # "je voudrais retravailler mais je n'ai pas de voiture et le bus…": what the person
            # asks for leads what is only described (never a precise job for its general form:
            # "reconnu travailleur handicapé, je cherche du travail" stays a disability job)
            asked = [
                ns for ns in heard if ns[0] in asked_for and self._precise_of.get(main) != ns[0]
            ]
            if asked:
                leading = min(asked, key=lambda ns: first_seen[ns[0]])
                heard.remove(leading)
                heard.insert(0, leading)
        if any(s in self._employed_statuts for s in statuts):
            # Someone who has a job already ("j'ai décroché un poste … comment y aller ?") asks
            # for what lets them keep it: a need other than an employer comes first, and an
            # employer is a need only when asked for ("après, je voudrais une vraie entreprise";
            # not "je suis en contrat au chantier … c'est quoi le PASS ?").
            heard = [ns for ns in heard if ns[0] not in self._employer_needs or ns[0] in asked_for]
            heard.sort(key=lambda ns: ns[0] in self._employer_needs)
        return self._precise_first(heard, phrased)

    def _precise_first(
        self, heard: list[tuple[str, float]], phrased: set[str]
    ) -> list[tuple[str, float]]:
        """ "une entreprise qui embauche tout le monde en CDI" with "j'ai plus travaillé": the
        EBE, a precise form of a job, leads the general need of a job."""
        order = [ns[0] for ns in heard]
        for need, score in list(heard):
            general = self._precise_of.get(need)
            if need in phrased and general in order and order.index(general) < order.index(need):
                heard.remove((need, score))
                heard.insert(order.index(general), (need, score))
                order = [ns[0] for ns in heard]
        return heard

    # --- places --------------------------------------------------------------------------------

    def _places(
        self, raw: str, expecting: Expecting, words: Words | None = None
    ) -> tuple[PlaceHeard, ...]:
        if _code(raw):
            return ()
        if any("\u0600" <= ch <= "\u06ff" for ch in raw):  # "في نانسي": the French name
            for pattern, name in self._other_scripts:
                raw = pattern.sub(f" {name} ", raw)
        mentions = getattr(self._gazetteer, "mentions", None)
        found: list[PlaceHeard] = []
        if mentions is not None:
            for mention in mentions(raw, self._home):
                role: PlaceRole = mention.role
                found.append(PlaceHeard(mention.resolution, role))
        else:
            resolution = self._gazetteer.find_in_text(raw, self._home)
            if resolution is not None:
                found.append(PlaceHeard(resolution, "search"))
        heard = any(p.resolution.status != "not_found" for p in found)
        if not heard and words is not None:  # a name people use for it ("à Mézières")
            for insee in self._other_names.find(words)[:1]:
                commune = self._gazetteer.get(insee)
                if commune is not None:
                    found.append(PlaceHeard(_found(commune), "search"))
                    heard = True
        if expecting.commune and not heard and len(fold(raw).split()) <= 4:
            resolution = self._gazetteer.resolve(raw, self._home)  # a name, typos included
            if resolution.status != "not_found":
                found.append(PlaceHeard(resolution, "home"))
        return tuple(found)


# --- helpers ------------------------------------------------------------------------------------


def _owned(hits: Sequence[Hit], prefix: str) -> list[Hit]:
    """The hits of one kind of owner ("s:" situations, "c:" categories…), prefix removed."""
    size = len(prefix)
    return [Hit(h.owner[size:], h.start, h.end) for h in hits if h.owner.startswith(prefix)]


def _in_context(hit: Hit, contexts: Sequence[Hit]) -> bool:
    """Whether a context phrase ("je suis salarié d'un", "mon") governs this hit."""
    return any(c.start <= hit.start <= c.end + CONTEXT_GAP for c in contexts)


NOT_INFINITIVES = frozenset({"dernier", "premier", "chantier", "quartier", "foyer", "metier"})
NEGATIONS = frozenset({"ne", "n", "pas", "plus", "jamais", "not", "never"})
# "en plus je suis au RSA", "demandeur d'emploi pas loin de Nancy": no negation
NOT_NEGATING_BEFORE = frozenset({"en", "de", "d"})
NOT_NEGATING_AFTER = frozenset({"loin", "mal", "de", "d", "que", "qu", "trop"})


def _negated(words: Words, hit: Hit, starts: set[int]) -> bool:
    """A situation said not to hold: "je ne travaille plus", "je travaille pas", "pas au RSA"
    (not when the next word starts another situation: "au rsa pas de voiture")."""
    before = words.words[hit.start - 1] if hit.start > 0 else ""
    ahead = words.words[hit.start - 2] if hit.start > 1 else ""
    after = words.words[hit.end] if hit.end < len(words) and hit.end not in starts else ""
    beyond = words.words[hit.end + 1] if hit.end + 1 < len(words) else ""
    negated_before = before in NEGATIONS and ahead not in NOT_NEGATING_BEFORE
    negated_after = after in NEGATIONS - {"ne", "n"} and beyond not in NOT_NEGATING_AFTER
    return negated_before or negated_after


def _asked(position: int, requests: Sequence[Hit]) -> bool:
    """Whether the word at `position` comes right after a request ("je cherche une …")."""
    return any(r.end <= position <= r.end + ASKED_GAP for r in requests)


def _sought(words: Words, hit: Hit, requests: Sequence[Hit]) -> bool:
    """A job said as what is sought, not as what one has: "je cherche du travail en intérim",
    "je peux travailler en chantier d'insertion" (an infinitive just before)."""
    before = words.words[hit.start - 1] if hit.start > 0 else ""
    said_of_oneself = words.words[hit.start] in ("je", "j", "i")  # "… réparer. Je travaille en"
    infinitive = (
        before.endswith("er")
        and len(before) > 4
        and before not in parsers.MONTHS
        and before not in NOT_INFINITIVES
        and not said_of_oneself
    )
    return _asked(hit.start, requests) or infinitive


def _blank(words: Words, hits: Iterable[Hit]) -> Words:
    stems = list(words.stems)
    for hit in hits:
        for i in range(hit.start, hit.end):
            stems[i] = ""
    return Words.from_stems(words.words, tuple(stems))


def parse_payload(payload: str) -> tuple[str | None, dict[str, str]]:
    """(referral code, presets) of a deep-link payload `CODE[__b-<need>][__c-<insee>]`."""
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


def _found(commune: Commune) -> Resolution:
    return Resolution("found", (PlaceMatch(commune, 100.0, commune.name),), commune.name)


def _not_found() -> Resolution:
    return Resolution("not_found", (), "")


def _best_of(rankings: Iterable[list[Scored]]) -> list[Scored]:
    best: dict[str, float] = {}
    for ranking in rankings:
        for scored in ranking:
            best[scored.id] = max(best.get(scored.id, 0.0), scored.score)
    return [Scored(i, s) for i, s in sorted(best.items(), key=lambda kv: -kv[1])[:5]]


_RESULT_NUMBER = re.compile(
    r"\b(?:le|la|du|de la|sur le|n|no|numero|number|num|choix)\s*(\d)\b"
    r"|\b(\d)\s*(?:e|eme|er|nd|st|rd|th)\b"
)
_ORDINALS = {"premier": 1, "premiere": 1, "first": 1, "deuxieme": 2, "second": 2, "seconde": 2,
             "troisieme": 3, "third": 3, "dernier": -1, "derniere": -1, "last": -1}  # fmt: skip


def _result_number(numbers: str) -> int | None:
    """ "le 2", "n°2", "le deuxième", "the third": which result is meant (-1: the last)."""
    match = _RESULT_NUMBER.search(numbers)
    if match:
        return int(match.group(1) or match.group(2))
    for word in numbers.split():
        if word in _ORDINALS:
            return _ORDINALS[word]
    return None


def _code(raw: str) -> str | None:
    match = _CODE_RE.match(raw) or _BARE_CODE_RE.match(raw)
    return match.group(1).upper() if match else None


def _phone(raw: str) -> str | None:
    """A French phone number written in the message, in the national format, or None."""
    if len(_DIGIT.findall(raw)) < MIN_PHONE_DIGITS:
        return None  # most messages: no number can be there, the matcher is not needed
    for match in phonenumbers.PhoneNumberMatcher(raw, "FR"):
        if phonenumbers.is_valid_number(match.number):
            return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return None


def _flat(lists: Iterable[list[str]]) -> list[str]:
    return [item for sub in lists for item in sub]
