"""Understanding without a model: normalise, extract every fact, match needs and FAQ.

Deterministic and explainable. Everything is compiled once per knowledge base; a message costs
a few regular-expression passes and one rapidfuzz scan of the FAQ phrasings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.kb.knowledge import KnowledgeBase
from bot.places import Gazetteer, Resolution
from bot.text import COMMON_WORDS, fold

MAX_MESSAGE_CHARS = 2000

_NUMBER_WORDS = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "dix sept": 17,
    "dix huit": 18,
    "dix neuf": 19,
    "vingt": 20,
    "vingt et un": 21,
    "vingt deux": 22,
    "vingt trois": 23,
    "vingt quatre": 24,
    "vingt cinq": 25,
    "vingt six": 26,
    "vingt sept": 27,
    "vingt huit": 28,
    "vingt neuf": 29,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six months": 6,
}
_NUMBER_WORD_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True)) + r")\b"
)
_AGE_RE = re.compile(
    r"\b(?:j ai|j avais|ai|age de|agee? de|i am|i m|im|aged?)\s*(\d{1,2})\s*(?:ans?|years?|yo)\b"
    r"|\b(\d{1,2})\s*(?:ans?|years? old|yo)\b(?!\s*(?:de|d|sans|que|qu|au|a|en))"
)
_DURATION_RE = re.compile(
    r"\b(\d{1,3}|un|une|a|an)\s*(ans?|annees?|mois|semaines?|years?|months?|weeks?)\b"
)
_QUESTION_START = re.compile(
    r"^(c est quoi|c quoi|cest quoi|qu est ce|quest ce|qu est ce que|comment|pourquoi|"
    r"combien|est ce que|est ce qu|quand|qui|quel|quelle|quels|quelles|ou|a quoi|"
    r"what|how|why|who|when|where|can i|do i|is it|je peux|on peut|peut on|puis je|"
    r"ai je|dois je|faut il|il faut)\b"
)
_GREETING = re.compile(r"^(bonjour|bonsoir|salut|coucou|slt|bjr|cc|hello|hi|hey|yo|allo)\b")
_THANKS = re.compile(r"\b(merci|thanks|thank you|mrc|mci)\b")
_WANTS_PLACE = re.compile(
    r"\b(ou est|ou se trouve|ou trouver|ou aller|adresse|contacter|joindre|numero de|"
    r"telephone de|horaires?|le plus proche|la plus proche|where is|address|contact)\b"
)
_HELP = re.compile(
    r"^(aide|aidez|aider|help|sos|au secours|je (ne )?sais (pas|plus) quoi faire|"
    r"je suis perdue?|j ai besoin d aide|besoin d aide)\b"
)
_YES = re.compile(r"^(oui|ouais|ok|d accord|dac|yes|yep|ouai|bien sur|volontiers|o)\b")
_NO = re.compile(r"^(non|nan|no|nope|pas du tout|jamais)\b")
_SKIP = re.compile(
    r"\b(je ne sais pas|je sais pas|jsp|sais pas|passer|aucune idee|je prefere ne pas|"
    r"pas envie de dire|i don t know|dont know|skip)\b"
)
_ENGLISH = frozenset(
    [
        "i",
        "am",
        "im",
        "looking",
        "for",
        "job",
        "work",
        "help",
        "what",
        "is",
        "the",
        "hello",
        "hi",
        "need",
        "car",
        "my",
        "please",
        "where",
        "how",
        "can",
        "do",
        "you",
        "want",
        "find",
        "near",
        "live",
        "in",
        "and",
    ]
)
_FRENCH = frozenset(
    [
        "je",
        "suis",
        "cherche",
        "travail",
        "bonjour",
        "aide",
        "quoi",
        "est",
        "une",
        "un",
        "le",
        "la",
        "les",
        "des",
        "du",
        "de",
        "pour",
        "avec",
        "mon",
        "ma",
        "mes",
        "habite",
        "vers",
        "pres",
        "j",
        "ai",
        "pas",
        "c",
    ]
)
_CODE_RE = re.compile(
    r"^\s*(?:code|mon code est|code conseiller)\s*:?\s*([A-Za-z0-9_-]{3,64})\s*$", re.IGNORECASE
)
_BARE_CODE_RE = re.compile(r"^\s*([A-Za-z]{1,8}\d{2,3}(?:-[A-Za-z0-9]+)+)\s*$")
_PHONE_RE = re.compile(r"^(?:\+33|0033|0)\s*[1-9](?:[\s.\-]*\d{2}){4}$")


@dataclass(frozen=True, slots=True)
class Scored:
    id: str
    score: float


@dataclass(slots=True)
class Understood:
    """Everything one message says, as far as the knowledge base lets us see."""

    raw: str
    folded: str  # after lexicon normalisation
    is_question: bool = False
    greeting: bool = False
    thanks: bool = False
    yes: bool = False
    no: bool = False
    skip: bool = False
    asks_help: bool = False  # "aide moi", "je sais pas quoi faire": show the menu, gently
    english: bool = False
    urgence: bool = False
    hors_perimetre: str | None = None
    age: int | None = None
    durations_months: list[int] = field(default_factory=list)
    sans_emploi_mois: int | None = None  # a duration said about being without a job
    residence_mois: int | None = None  # a duration said about living in the commune
    statuts: list[str] = field(default_factory=list)
    place: Resolution | None = None
    needs: list[Scored] = field(default_factory=list)  # best first
    categories: list[str] = field(default_factory=list)  # categories named explicitly
    referents: list[str] = field(default_factory=list)  # referent kinds named (mission_locale…)
    wants_place: bool = False  # "où est", "adresse", "contacter": the person wants a place
    faq: list[Scored] = field(default_factory=list)  # best first
    code: str | None = None
    phone: str | None = None
    truncated: bool = False


class Understanding:
    """Compiled from one knowledge base; `read(text)` is pure and fast."""

    def __init__(self, kb: KnowledgeBase, gazetteer: Gazetteer, home_departement: str) -> None:
        self._gazetteer = gazetteer
        self._home = home_departement
        self._lexicon = _compile_lexicon((e.terme, e.variantes) for e in kb.lexique)
        self._statuts = _PhraseIndex((s.id, [s.id, s.libelle, *s.synonymes]) for s in kb.statuts)
        self._urgence = _PhraseIndex([("urgence", list(kb.national.urgence_mots_cles))])
        self._hors = _PhraseIndex((h.id, h.mots_cles) for h in kb.national.hors_perimetre)
        structure_categories = [c for c in kb.categories.values() if c.famille != "orienteur"]
        # Short acronyms are words too ("AI" / "j'ai"): they count only in capitals.
        self._categories = _PhraseIndex(
            (
                c.id,
                [
                    *(s for s in c.sigles if len(s) > 2),
                    *c.synonymes,
                    *_flat(c.synonymes_langues.values()),
                ],
            )
            for c in structure_categories
        )
        self._acronyms = [
            (c.id, re.compile(rf"\b{re.escape(s.upper())}\b"))
            for c in structure_categories
            for s in c.sigles
            if len(s) <= 2
        ]
        self._referents = _PhraseIndex(
            (c.id, [*(s for s in c.sigles if len(s) > 3), *c.synonymes])
            for c in kb.categories.values()
            if c.famille == "orienteur"
        )
        self._need_of_category: dict[str, list[str]] = {}
        for need in kb.needs.values():
            for cat in need.categories:
                self._need_of_category.setdefault(cat, []).append(need.id)
        self._needs = _PhraseIndex(
            (n.id, [*n.mots_cles, *n.mots_cles_en]) for n in kb.needs.values()
        )
        self._faq_texts: list[str] = []
        self._faq_ids: list[str] = []
        for faq in kb.faq.values():
            phrasings = [faq.question, *faq.variantes, *_flat(faq.variantes_langues.values())]
            if faq.question_en:
                phrasings.append(faq.question_en)
            for phrasing in phrasings:
                self._faq_texts.append(self.normalise(phrasing))
                self._faq_ids.append(faq.id)
        self._faq_keywords = _PhraseIndex((f.id, f.mots_cles) for f in kb.faq.values())

    # --- normalisation -------------------------------------------------------------------------

    def normalise(self, text: str) -> str:
        """Fold, then rewrite SMS, slang and dictation forms to their canonical terms."""
        folded = fold(text)
        if not folded:
            return ""
        pattern, table = self._lexicon
        replaced = pattern.sub(lambda m: _rewrite(m, table), f" {folded} ")
        return " ".join(replaced.split())

    # --- reading a message ---------------------------------------------------------------------

    def read(self, text: str) -> Understood:
        truncated = len(text) > MAX_MESSAGE_CHARS
        raw = text[:MAX_MESSAGE_CHARS]
        norm = self.normalise(raw)
        padded = f" {norm} "
        out = Understood(raw=raw, folded=norm, truncated=truncated)
        out.is_question = (
            "?" in raw or " point d interrogation" in padded or bool(_QUESTION_START.match(norm))
        )
        out.greeting = bool(_GREETING.match(norm))
        out.thanks = bool(_THANKS.search(norm))
        out.yes, out.no = bool(_YES.match(norm)), bool(_NO.match(norm))
        out.skip = bool(_SKIP.search(norm))
        out.asks_help = bool(_HELP.match(norm))
        out.english = _looks_english(norm)
        out.urgence = bool(self._urgence.find(padded))
        hors = self._hors.find(padded)
        out.hors_perimetre = hors[0] if hors else None
        with_numbers = _digits_for_number_words(norm)
        out.age = _age(with_numbers)
        out.durations_months = _durations(with_numbers)
        out.sans_emploi_mois, out.residence_mois = _durations_about(with_numbers)
        out.statuts = self._statuts.find(padded)
        out.categories = self._categories.find(padded) + [
            cat for cat, pattern in self._acronyms if pattern.search(raw)
        ]
        out.referents = self._referents.find(padded)
        # "France Travail" names an agency, not a wish for "travail".
        out.needs = self._score_needs(self._referents.blank(padded), out.categories)
        out.wants_place = bool(_WANTS_PLACE.search(norm))
        out.faq = self._score_faq(norm, padded)
        out.code = _code(raw)
        out.phone = _phone(raw)
        if norm and not out.code:
            out.place = self._gazetteer.find_in_text(raw, self._home)
        return out

    def resolve_place(self, text: str) -> Resolution:
        return self._gazetteer.resolve(text, self._home)

    def match_label(self, text: str, labels: list[str]) -> int | None:
        """Index of the choice label the person typed (fuzzy), or None."""
        norm = self.normalise(text)
        if not norm or not labels:
            return None
        folded = [self.normalise(label) for label in labels]
        best = process.extractOne(norm, folded, scorer=fuzz.WRatio, score_cutoff=88)
        return None if best is None else int(best[2])

    # --- scoring -------------------------------------------------------------------------------

    def _score_needs(self, padded: str, categories: list[str]) -> list[Scored]:
        scores: dict[str, float] = {}
        for need_id in self._needs.find(padded):
            scores[need_id] = scores.get(need_id, 0) + 80
        for rank, cat in enumerate(categories):
            for need_id in self._need_of_category.get(cat, []):
                scores[need_id] = scores.get(need_id, 0) + 100 - rank
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        return [Scored(n, s) for n, s in ranked]

    def _score_faq(self, norm: str, padded: str) -> list[Scored]:
        if len(norm) < 4 or not self._faq_texts:
            return []
        best: dict[str, float] = {}
        hits = process.extract(
            norm, self._faq_texts, scorer=fuzz.token_sort_ratio, limit=12, score_cutoff=50
        )
        for _text, score, index in hits:
            faq_id = self._faq_ids[index]
            best[faq_id] = max(best.get(faq_id, 0.0), float(score))
        partial = process.extract(
            norm, self._faq_texts, scorer=fuzz.token_set_ratio, limit=12, score_cutoff=80
        )
        for _text, score, index in partial:
            faq_id = self._faq_ids[index]
            # A subset match is weaker evidence than a whole-phrase match.
            best[faq_id] = max(best.get(faq_id, 0.0), float(score) - 8)
        for faq_id in self._faq_keywords.find(padded):
            best[faq_id] = best.get(faq_id, 0.0) + 6
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        return [Scored(f, min(100.0, s)) for f, s in ranked[:5]]


class _PhraseIndex:
    """Finds which ids have one of their phrases in a text, on word boundaries, folded."""

    def __init__(self, entries: Iterable[tuple[str, list[str]]]) -> None:
        self._owner: dict[str, list[str]] = {}
        for owner, phrases in entries:
            for phrase in phrases:
                key = fold(phrase)
                if key:
                    ids = self._owner.setdefault(key, [])
                    if owner not in ids:
                        ids.append(owner)
        keys = sorted(self._owner, key=len, reverse=True)
        pattern = "|".join(re.escape(k) for k in keys)
        self._re = re.compile(rf"(?<= )(?:{pattern})(?= )") if keys else None

    def blank(self, padded: str) -> str:
        """The text with every known phrase replaced by a space."""
        return padded if self._re is None else self._re.sub(" ", padded)

    def find(self, padded: str) -> list[str]:
        """Ids in order of first mention; longer phrases win over the words inside them."""
        if self._re is None:
            return []
        found: list[str] = []
        for match in self._re.finditer(padded):
            for owner in self._owner[match.group(0)]:
                if owner not in found:
                    found.append(owner)
        return found


def _compile_lexicon(
    entries: Iterable[tuple[str, list[str]]],
) -> tuple[re.Pattern[str], dict[str, str]]:
    mapping: dict[str, str] = {}
    for term, variants in entries:
        target = f" {fold(term)} " if fold(term) else " "
        for variant in variants:
            key = fold(variant)
            if key and key != fold(term) and key not in COMMON_WORDS:
                mapping[f" {key} "] = target
    if not mapping:
        return re.compile(r"(?!x)x"), {}
    keys = sorted(mapping, key=len, reverse=True)
    # Matches overlap on their surrounding spaces, so replace token-wise with lookarounds.
    pattern = re.compile("|".join(re.escape(k.strip()) for k in keys).join(("(?<= )(?:", ")(?= )")))
    table = {k.strip(): v.strip() for k, v in mapping.items()}
    return pattern, table


def _flat(lists: Iterable[list[str]]) -> list[str]:
    return [item for sub in lists for item in sub]


def _rewrite(match: re.Match[str], table: dict[str, str]) -> str:
    """The canonical term, unless the text already reads as it ("c" inside "c est")."""
    found, target = match.group(0), table[match.group(0)]
    rest = target[len(found) :] if target.startswith(found + " ") else None
    if rest and match.string[match.end() :].startswith(rest):
        return found
    return target


def _looks_english(norm: str) -> bool:
    words = norm.split()
    if len(words) < 2:
        return False
    english = sum(w in _ENGLISH for w in words)
    french = sum(w in _FRENCH for w in words)
    return english >= 2 and english > french


def _digits_for_number_words(norm: str) -> str:
    return _NUMBER_WORD_RE.sub(lambda m: str(_NUMBER_WORDS[m.group(1)]), norm)


def _age(text: str) -> int | None:
    for match in _AGE_RE.finditer(text):
        value = int(match.group(1) or match.group(2))
        before = text[: match.start()].split()[-2:]
        if "depuis" in before or "pendant" in before or "for" in before:
            continue
        if 10 <= value <= 99:
            return value
    return None


def _durations(text: str) -> list[int]:
    months: list[int] = []
    for match in _DURATION_RE.finditer(text):
        amount, unit = match.group(1), match.group(2)
        n = 1 if amount in {"un", "une", "a", "an"} else int(amount)
        if unit.startswith(("an", "annee", "year")):
            months.append(n * 12)
        elif unit.startswith(("semaine", "week")):
            months.append(max(0, n // 4))
        else:
            months.append(n)
    return months


_JOBLESS = re.compile(
    r"\b(chomage|chomeur|chomeuse|sans emploi|sans travail|sans boulot|pas de travail|"
    r"plus de travail|pas travaille|sans job|unemployed|out of work)\b"
)
_RESIDENT = re.compile(r"\b(habite|vis|vit|installe|arrive|demenage|live|lived|moved)\b")


def _durations_about(text: str) -> tuple[int | None, int | None]:
    """(months without a job, months living here), from the words just before each duration."""
    jobless: int | None = None
    resident: int | None = None
    for match in _DURATION_RE.finditer(text):
        before = " ".join(text[: match.start()].split()[-7:])
        months = _durations(match.group(0))[0]
        if _RESIDENT.search(before):
            resident = months
        elif _JOBLESS.search(before):
            jobless = months
    return jobless, resident


def _code(raw: str) -> str | None:
    match = _CODE_RE.match(raw) or _BARE_CODE_RE.match(raw)
    return match.group(1).upper() if match else None


def _phone(raw: str) -> str | None:
    candidate = raw.strip()
    if not _PHONE_RE.match(candidate):
        return None
    digits = re.sub(r"\D", "", candidate)
    if digits.startswith("0033"):
        digits = "0" + digits[4:]
    elif digits.startswith("33"):
        digits = "0" + digits[2:]
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2)) if len(digits) == 10 else None


def parse_duration_answer(text: str, understood: Understood) -> int | None:
    """A duration given alone ("8 mois", "2 ans", "depuis toujours", "18")."""
    if understood.durations_months:
        return understood.durations_months[0]
    norm = understood.folded
    if re.search(r"\b(toujours|tres longtemps|always)\b", norm):
        return 240
    if re.search(r"\b(jamais travaille|never worked)\b", norm):
        return 240
    bare = re.fullmatch(r"\s*(\d{1,3})\s*", text)
    return int(bare.group(1)) if bare else None


def parse_age_answer(text: str, understood: Understood) -> int | None:
    if understood.age is not None:
        return understood.age
    bare = re.fullmatch(r"\D{0,12}?(\d{1,2})\D{0,12}", _digits_for_number_words(understood.folded))
    if bare:
        value = int(bare.group(1))
        return value if 10 <= value <= 99 else None
    return None
