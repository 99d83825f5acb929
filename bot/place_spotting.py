"""Spotting the communes a free-text message names (for `Gazetteer.find_in_text` / `mentions`).

A span of the message is read as a commune only with evidence, in this order of certainty:

1. a postal or INSEE code ("j'habite 54000");
2. a short message that is only a name ("Château-Chinon");
3. an exact name after a place cue ("à", "vers", "j'habite", "depuis", "in"…);
4. an exact name anywhere, when it is not an ordinary word ("garage solidaire nevers");
5. a misspelt name after a cue that allows typos ("a nanci", "sur jarvile").

The filter that keeps ordinary words out ("sans", "bus", "poste", "Mai", "Cuisine"…) is one
rule: a word people use often is a place only with evidence of a place. "Used often" is about
20,000 French words (seen 300 times or more in pyspellchecker's French frequency list, made from
film subtitles) and 5,000 English ones, plus the dictionary words found in commune names, first
names and the everyday words of this domain (`bot.place_words`). Evidence is a capital letter
that is not just the start of a sentence, a town big enough for how common the word is, named
after a place cue ("à tours" but not "à sens unique"), or, for a message that is only the name,
a commune of the home département. An ordinary word is never corrected into a commune: it is
spelt right already.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bot import place_keys, place_words
from bot import text as folding
from bot.place_keys import name_keys, place_key

if TYPE_CHECKING:
    from bot.places import Resolution

BIG_TOWN = 20_000  # towns this big are recognised after a place cue even if also a word
COMMON_COUNT, COMMON_TOWN = 3_000, 50_000  # ... this big if the word is among the commonest
VERY_COMMON_COUNT, VERY_COMMON_TOWN = 24_000, 200_000  # ... this big among the very commonest
FRENCH_MIN_COUNT = 300  # French words seen this often count as ordinary (about 20,000)
ENGLISH_MIN_COUNT = 10_000  # ... and English words (about 5,000: "to die", "send it to us")
READ_CHUNK = 1 << 18
TEXT_FUZZY_SCORE = 80.0  # a fuzzy near miss of a big town in a free-text message
TEXT_FOUND_SCORE = 85.0  # a clear fuzzy match of any commune, when no home is known
HOME_FUZZY_SCORE = 80.0  # ... of a commune of the home département
MAX_TEXT_FUZZY = 4  # fuzzy searches per message (~0.05 ms each with a home, ~1 ms without)
MAX_NAME_WORDS = 4  # a commune name spotted in text has at most this many words
SENTENCE_END = frozenset(".!?…\n")
CLAUSE_END = SENTENCE_END | frozenset(",;:()[]")

_WORD = re.compile(r"[^\W_]+")
_CODE = re.compile(r"^(?:\d{5}|2[ab]\d{3})$")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs after which a name may follow directly ("j'habite Noyon", "I live in Beauvais").
_STRONG_CUES = _words(
    "habite habites habitons habitez habitent jhabite vis vit vivons vivez vivent jvis "
    "reside residons domicile domicilie domiciliee live lives living"
)
# Prepositions and adverbs after which a name may follow.
_WEAK_CUES = _words(
    "a au aux vers sur pres de d du dans en cote proche depuis jusqu jusque entre "
    "rejoindre rejoins rejoint from to in near at around "
    "في ف من الى f fi"  # Arabic script and darija in Latin letters: in, from, to
)
# Typos are forgiven only after these: "en panne" must not become Pannes, "en lecture" Lectoure.
_FUZZY_CUES = _words("a au aux vers sur pres cote proche jusqu") | _STRONG_CUES
_CONTRACTED = {"au": "le", "du": "le", "aux": "les", "des": "les"}
_LEADING_FUNCTION_WORDS = _words("le la les l du de des d en au aux a")


class Names(Protocol):
    """What spotting needs from the gazetteer (`bot.places.Gazetteer`)."""

    def is_name(self, key: str, dept: str | None = None) -> bool: ...

    def population(self, key: str, dept: str | None = None) -> int: ...

    def exact_name(self, key: str, home: str | None) -> Resolution | None: ...

    def resolve_in_text(self, key: str, home: str | None) -> Resolution: ...

    def resolve(self, query: str, home_departement: str | None = None) -> Resolution: ...

    def dept_code(self, word: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the message: its folded key and where it is in the raw text."""

    key: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Spot:
    """A commune found in a message: tokens `first`..`last`, characters `start`..`end`."""

    resolution: Resolution  # its query is the span of the raw text
    first: int
    last: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a place name may start, after which cue, with the article a contraction hides."""

    index: int
    article: str  # "le" after "au"/"du" ("au Mans" → "le mans"), "les" after "aux"/"des"
    fuzzy: bool  # whether a misspelt name may follow this cue


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Ordinary words, and the commonest of them in French."""

    ordinary: frozenset[str]
    common: frozenset[str]  # seen COMMON_COUNT times or more (about the 5,000 commonest)
    very_common: frozenset[str]  # seen VERY_COMMON_COUNT times or more (about 1,000)

    def town_needed(self, word: str) -> int:
        """How big a town named like this ordinary word must be for a lower-case mention
        after a place cue to be read as the town: the commoner the word, the bigger
        ("à sens unique" is not Sens, "au port" not Le Port; "à tours" is Tours)."""
        if word in self.very_common:
            return VERY_COMMON_TOWN
        return COMMON_TOWN if word in self.common else BIG_TOWN


class Derived(Protocol):
    """Where start-up keeps what it derives: `bot.kb.cache.KnowledgeCache.derived`, whose
    signature this repeats for the lexicon (bot.kb imports the places; not the reverse)."""

    def derived(
        self,
        name: str,
        key: str,
        build: Callable[[], Lexicon],
        encode: Callable[[Lexicon], Any],
        decode: Callable[[Any], Lexicon],
    ) -> Lexicon: ...


# The process's lexicon, once made. Kept here rather than passed in: it is made from the
# installed word lists alone, the same for every gazetteer of the process, and never changes.
_built: list[Lexicon] = []


def lexicon() -> Lexicon:
    """The ordinary words, made once per process (see `warm_up`)."""
    if not _built:
        _built.append(_make_lexicon())
    return _built[0]


def _make_lexicon() -> Lexicon:
    """The ordinary words, from pyspellchecker's frequency lists (0.1–0.3 s)."""
    french = _counted("fr", FRENCH_MIN_COUNT)
    english = _counted("en", ENGLISH_MIN_COUNT)
    words = name_keys([word for _, word in french + english])  # folded as message words are
    counts = [count for count, _ in french]
    common = [w for w, c in zip(words, counts, strict=False) if c >= COMMON_COUNT]
    very_common = [w for w, c in zip(words, counts, strict=False) if c >= VERY_COMMON_COUNT]
    return Lexicon(
        frozenset(words) | place_words.NOT_PLACES, frozenset(common), frozenset(very_common)
    )


def lexicon_key() -> str:
    """A digest of everything the lexicon is made of: pyspellchecker's two lists (their bytes,
    1.1 MB, a few milliseconds) and this code's (its counts, the words that are no places,
    the keys and the folding of words)."""
    digest = hashlib.blake2b(digest_size=16)
    for language in ("fr", "en"):
        digest.update(_word_list(language).read_bytes())
    for module in (sys.modules[__name__], place_words, place_keys, folding):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def _word_list(language: str) -> Traversable:
    """pyspellchecker's frequency list for `language` (gzipped JSON)."""
    return resources.files("spellchecker").joinpath("resources", f"{language}.json.gz")


def _encode_lexicon(found: Lexicon) -> dict[str, list[str]]:
    return {
        "ordinary": sorted(found.ordinary),
        "common": sorted(found.common),
        "very_common": sorted(found.very_common),
    }


def _decode_lexicon(data: Any) -> Lexicon:
    parts = [data[part] for part in ("ordinary", "common", "very_common")]
    if not all(isinstance(words, list) and all(type(w) is str for w in words) for words in parts):
        raise ValueError("a lexicon of the wrong shape")
    return Lexicon(*(frozenset(words) for words in parts))


def ordinary_words() -> frozenset[str]:
    """Folded words that are read as places only with evidence."""
    return lexicon().ordinary


def _counted(language: str, min_count: int) -> list[tuple[int, str]]:
    """(count, word) of the words seen at least `min_count` times in pyspellchecker's list
    for `language`. The list is a JSON object of "word": count entries; only the entries
    whose count has enough digits are matched, which is far quicker than parsing it all."""
    source = _word_list(language)
    entry = re.compile(rb'"([^"\\]+)": (\d{%d,})' % len(str(min_count)))
    found: list[tuple[bytes, bytes]] = []
    with source.open("rb") as raw, gzip.open(raw, "rb") as handle:
        rest = b""
        while chunk := handle.read(READ_CHUNK):  # in chunks: the whole list is 2.6 MB
            lines = rest + chunk
            cut = lines.rfind(b"\n") + 1
            rest = lines[cut:]
            found += entry.findall(lines, 0, cut)
    counted = ((int(count), word) for word, count in found)
    return [(count, word.decode("utf-8")) for count, word in counted if count >= min_count]


def warm_up(derived: Derived | None = None) -> None:
    """Make the lexicon now rather than on the first message; with `derived`, read it from there
    when its inputs have not changed (a few milliseconds), or make it and keep it there."""
    if not _built and derived is not None:
        keep = derived.derived
        _built.append(
            keep("lexicon", lexicon_key(), _make_lexicon, _encode_lexicon, _decode_lexicon)
        )
    lexicon()


_word_key = lru_cache(maxsize=4096)(place_key)  # people write the same words again and again


def tokenize(text: str) -> list[Token]:
    """Words of the message (letters and digits of any script), folded as place keys."""
    tokens: list[Token] = []
    for word in _WORD.finditer(text):
        key = _word_key(word.group())
        if key:
            tokens.append(Token(key, word.start(), word.end()))
    return tokens


def clause_starts(text: str, tokens: Sequence[Token]) -> frozenset[int]:
    """Indexes of the tokens that open a clause (after , ; : . ! ? or at the start)."""
    starts = {0}
    for i in range(1, len(tokens)):
        if any(ch in CLAUSE_END for ch in text[tokens[i - 1].end : tokens[i].start]):
            starts.add(i)
    return frozenset(starts)


def first_spot(names: Names, text: str, home: str | None) -> Spot | None:
    """The most certain commune of the message, or None."""
    return next(_spots(names, text, tokenize(text), home), None)


def all_spots(
    names: Names, text: str, home: str | None, tokens: list[Token] | None = None
) -> list[Spot]:
    """Every commune of the message, in text order; overlapping spans keep the most certain.
    `tokens`: the message's `tokenize(text)`, when the caller has it."""
    kept: list[Spot] = []
    for spot in _spots(names, text, tokenize(text) if tokens is None else tokens, home):
        overlapping = [o for o in kept if not (spot.last < o.first or spot.first > o.last)]
        if not overlapping:
            kept.append(spot)
        elif _encloses_at_home(spot, overlapping, home):
            kept = [o for o in kept if o not in overlapping] + [spot]
    return sorted(kept, key=lambda s: s.first)


def _encloses_at_home(spot: Spot, others: list[Spot], home: str | None) -> bool:
    """A whole home name exactly, over a shorter name found inside it elsewhere: "Vrigne aux
    Bois" (Ardennes), not "Bois" (Charente-Maritime) after the cue "aux"."""
    found = spot.resolution
    if home is None or found.status != "found" or not found.candidates:
        return False
    if found.candidates[0].score < 100 or found.candidates[0].commune.dept != home:
        return False
    return all(
        spot.first <= o.first and o.last <= spot.last and o.last - o.first < spot.last - spot.first
        for o in others
    )


def _spots(names: Names, text: str, tokens: list[Token], home: str | None) -> Iterator[Spot]:
    """Candidate spots, most certain first (a span may come more than once)."""
    evidence = _Evidence(text, tokens)
    for index, token in enumerate(tokens):
        if _CODE.match(token.key):
            found = names.resolve(token.key, home)
            if found.status != "not_found":
                yield _spot(found, text, tokens, index, index + 1)
    starts = _cue_starts(tokens)
    yield from _whole_message(names, text, tokens, home)
    yield from _leading_name(names, text, tokens, home)
    yield from _trailing_name(names, text, tokens, home)
    yield from _exact_after_cues(names, text, tokens, starts, home, evidence)
    yield from _exact_anywhere(names, text, tokens, home)
    yield from _fuzzy_after_cues(names, text, tokens, starts, home)


def _spot(found: Resolution, text: str, tokens: list[Token], first: int, end: int) -> Spot:
    start, stop = tokens[first].start, tokens[end - 1].end
    return Spot(replace(found, query=text[start:stop]), first, end - 1, start, stop)


def _cue_starts(tokens: list[Token]) -> list[_Start]:
    starts: list[_Start] = []
    for index, token in enumerate(tokens):
        if token.key not in _STRONG_CUES and token.key not in _WEAK_CUES:
            continue
        start, previous = index + 1, token.key
        strong = token.key in _STRONG_CUES
        while strong and start < len(tokens) and tokens[start].key in _WEAK_CUES:
            previous = tokens[start].key
            start += 1
        if start < len(tokens):
            fuzzy = strong or previous in _FUZZY_CUES
            starts.append(_Start(start, _CONTRACTED.get(previous, ""), fuzzy))
    return starts


class _Evidence:
    """Whether the words of a span are written like a place name (a capital letter that is
    not just the start of a sentence, in a message not written all in capitals)."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self._text = text
        self._tokens = tokens
        letters = [t for t in tokens if text[t.start].isalpha()]
        upper = sum(1 for t in letters if text[t.start].isupper())
        self._all_capitals = len(letters) >= 3 and upper >= 0.6 * len(letters)

    def capitalised(self, first: int, end: int) -> bool:
        if self._all_capitals:
            return False
        return any(
            self._text[self._tokens[i].start].isupper() and not self._sentence_start(i)
            for i in range(first, end)
        )

    def _sentence_start(self, index: int) -> bool:
        if index == 0:
            return True
        gap = self._text[self._tokens[index - 1].end : self._tokens[index].start]
        return any(ch in SENTENCE_END for ch in gap)


def _whole_message(
    names: Names, text: str, tokens: list[Token], home: str | None
) -> Iterator[Spot]:
    """A short message that is just a name ("Château-Chinon") is taken as an answer; a name
    that is an ordinary word ("Bus", "Rue") only if it is a big town or a home commune."""
    if not tokens or len(tokens) > MAX_NAME_WORDS:
        return
    key = " ".join(t.key for t in tokens)
    content = _content_words(key)
    if not content or (len(content) == 1 and content[0] in place_words.GRAMMAR):
        return
    if len(content) == 1 and content[0] in ordinary_words():
        at_home = home is not None and names.is_name(key, home)
        if not at_home and names.population(key) < BIG_TOWN:
            return
    found = names.exact_name(key, home)
    if found is not None:
        yield _spot(found, text, tokens, 0, len(tokens))


def _leading_name(names: Names, text: str, tokens: list[Token], home: str | None) -> Iterator[Spot]:
    """A message that starts with a name and a comma ("Rosny, je cherche…", "chateau chinon,
    je cherche…"): with a home département, a commune of it, typos forgiven there."""
    if home is None or len(tokens) < 2:
        return
    end = next(
        (i + 1 for i in range(min(len(tokens), MAX_NAME_WORDS)) if _clause_after(text, tokens, i)),
        None,
    )
    if end is None or end == len(tokens):
        return
    key = " ".join(t.key for t in tokens[:end])
    content = _content_words(key)
    if not content or content[0] in place_words.GRAMMAR or any(w.isdigit() for w in content):
        return
    if len(content) == 1 and content[0] in ordinary_words() and not names.is_name(key, home):
        return  # "Bus, train, …": a word, unless it is a commune of the home département
    found = _home_name(names, [t.key for t in tokens[:end]], home)
    if found is not None:
        yield _spot(found, text, tokens, 0, end)


SHORT_MESSAGE_WORDS = 4  # a message of keywords, without punctuation


def _trailing_name(
    names: Names, text: str, tokens: list[Token], home: str | None
) -> Iterator[Spot]:
    """A message that ends with a name alone after a full stop or a comma ("… pour tout ça.
    charlevile"): with a home département, a commune of it, typos forgiven there."""
    if home is None or len(tokens) < 3:
        return
    first = next(
        (
            i + 1
            for i in range(len(tokens) - 2, max(-1, len(tokens) - 2 - MAX_NAME_WORDS), -1)
            if _clause_after(text, tokens, i)
        ),
        None,
    )
    if first is None and len(tokens) <= SHORT_MESSAGE_WORDS:
        first = len(tokens) - 1  # "chantié insertion cazere": a few words, the place last
        if len(tokens[first].key) < 5:
            return
    if first is None or len(tokens) - first > 3:
        return
    words = [t.key for t in tokens[first:]]
    key = " ".join(words)
    content = _content_words(key)
    if not content or any(w.isdigit() for w in content) or words[0] in place_words.GRAMMAR:
        return  # "…, à Nancy": the cue's own spotting finds it
    if all(w in ordinary_words() or w in place_words.GRAMMAR for w in content):
        return  # "… merci", "… voilà"
    found = _home_name(names, words, home)
    if found is not None and found.status == "found":
        yield _spot(found, text, tokens, first, len(tokens))


def _home_name(names: Names, words: list[str], home: str) -> Resolution | None:
    """The communes of the home département these words name, exactly or, for words worth
    it, with typos forgiven; found when one, ambiguous when several."""
    key = " ".join(words)
    found = names.exact_name(key, home)
    if found is None and _fuzzy_worthy(words):
        fuzzy = names.resolve_in_text(key, home)
        found = fuzzy if _confident_in_text(fuzzy, home) else None
    at_home = tuple(m for m in found.candidates if m.commune.dept == home) if found else ()
    if found is None or not at_home:
        return None
    return replace(found, status="found" if len(at_home) == 1 else "ambiguous", candidates=at_home)


def _clause_after(text: str, tokens: list[Token], index: int) -> bool:
    """Whether a comma, a full stop or the like comes right after this token."""
    nxt = tokens[index + 1].start if index + 1 < len(tokens) else len(text)
    return any(ch in CLAUSE_END for ch in text[tokens[index].end : nxt])


def _exact_after_cues(
    names: Names,
    text: str,
    tokens: list[Token],
    starts: list[_Start],
    home: str | None,
    evidence: _Evidence,
) -> Iterator[Spot]:
    for start in starts:
        for end in range(min(len(tokens), start.index + MAX_NAME_WORDS), start.index, -1):
            words = " ".join(t.key for t in tokens[start.index : end])
            keys = [f"{start.article} {words}", words] if start.article else [words]
            capitalised = evidence.capitalised(start.index, end)
            found = None
            for key in keys:
                if not names.is_name(key) and home is None:
                    continue
                if not _plausible_after_cue(names, key, capitalised, home):
                    continue
                dept = _dept_after(names, tokens, end) or home
                found = names.exact_name(key, dept)
                if found is not None:
                    break
            if found is not None:
                longer = _longer_at_home(names, text, tokens, found, start.index, end, home)
                yield longer or _longest(names, text, tokens, found, start.index, end, home)
                break


def _longer_at_home(
    names: Names,
    text: str,
    tokens: list[Token],
    found: Resolution,
    first: int,
    end: int,
    home: str | None,
) -> Spot | None:
    """An exact name elsewhere that begins a misspelt longer name at home: "à estrée saint
    denis" in the Oise is Estrées-Saint-Denis, not Estrée (Pas-de-Calais)."""
    if home is None or any(m.commune.dept == home for m in found.candidates):
        return None
    following = tokens[end].key if end < len(tokens) else ""
    name_word = following in ("saint", "sainte", "st", "ste")
    if (
        not following
        or following in place_words.GRAMMAR
        or (following in ordinary_words() and not name_word)
    ):
        return None  # "à Paris demain matin": nothing of a name follows
    for longer in range(min(len(tokens), end + 3, first + MAX_NAME_WORDS), end, -1):
        if any(_clause_after(text, tokens, i) for i in range(end - 1, longer - 1)):
            continue  # never over punctuation
        fuzzy = names.resolve_in_text(" ".join(t.key for t in tokens[first:longer]), home)
        if _confident_in_text(fuzzy, home) and fuzzy.candidates[0].commune.dept == home:
            return _spot(fuzzy, text, tokens, first, longer)
    return None


def _longest(
    names: Names,
    text: str,
    tokens: list[Token],
    found: Resolution,
    first: int,
    end: int,
    home: str | None,
) -> Spot:
    """A name's beginning ("pont a" for Pont-à-Mousson) grows over the misspelt rest of the
    name that follows ("pont a mouss"), word by word while the longer span is found as the
    same commune with a better score, and never over punctuation."""
    best = found.candidates[0]
    if best.score >= 100 or home is None:
        return _spot(found, text, tokens, first, end)
    chosen, chosen_end = found, end
    for longer in range(end + 1, min(len(tokens), first + MAX_NAME_WORDS) + 1):
        gap = text[tokens[longer - 2].end : tokens[longer - 1].start]
        if any(ch in CLAUSE_END for ch in gap):
            break
        key = " ".join(t.key for t in tokens[first:longer])
        wider = names.resolve_in_text(key, home)
        top = wider.candidates[0] if wider.candidates else None
        if wider.status != "found" or top is None or top.commune != best.commune:
            break
        if top.score > chosen.candidates[0].score:
            chosen, chosen_end = wider, longer
    return _spot(chosen, text, tokens, first, chosen_end)


def _exact_anywhere(
    names: Names, text: str, tokens: list[Token], home: str | None
) -> Iterator[Spot]:
    for size in range(MAX_NAME_WORDS, 0, -1):
        for start in range(0, len(tokens) - size + 1):
            key = " ".join(t.key for t in tokens[start : start + size])
            if not names.is_name(key):
                continue
            if not (_plausible_anywhere(key) or _big_town_at_home(names, key, home)):
                continue
            dept = _dept_after(names, tokens, start + size) or home
            found = names.exact_name(key, dept)
            if found is not None:
                yield _spot(found, text, tokens, start, start + size)


def _fuzzy_after_cues(
    names: Names, text: str, tokens: list[Token], starts: list[_Start], home: str | None
) -> Iterator[Spot]:
    attempts = 0
    for start in starts:
        if not start.fuzzy:
            continue
        for end in range(start.index + 1, min(len(tokens), start.index + 3) + 1):
            words = [t.key for t in tokens[start.index : end]]
            if not _fuzzy_worthy(words) or attempts >= MAX_TEXT_FUZZY:
                break
            attempts += 1
            found = names.resolve_in_text(" ".join(words), home)
            if _confident_in_text(found, home):
                yield _spot(found, text, tokens, start.index, end)
                break


_NOT_A_DEPT_AFTER = frozenset({"ans", "an", "years", "year", "mois", "km", "euros", "h", "heures"})


def _dept_after(names: Names, tokens: list[Token], end: int) -> str | None:
    """A département code written right after a name ("Saint-Denis 93"), not an amount
    ("de Revel, 44 ans")."""
    if end >= len(tokens):
        return None
    following = tokens[end + 1].key if end + 1 < len(tokens) else ""
    if following in _NOT_A_DEPT_AFTER:
        return None
    return names.dept_code(tokens[end].key)


def _confident_in_text(found: Resolution, home: str | None) -> bool:
    """A fuzzy match in free text: a home commune clearly found ("sur jarvile"), a near miss
    of a big town ("nanci"), or, with no home département, any commune clearly found.

    With a home département, a misspelt small commune elsewhere is not read in free text:
    people name their own territory, and "aux Restos du coeur" is not Estos (64)."""
    if not found.candidates:
        return False
    best = found.candidates[0]
    at_home = home is not None and best.commune.dept == home
    if found.status == "found" and at_home and best.score >= HOME_FUZZY_SCORE:
        return True
    if found.status == "found" and home is None and best.score >= TEXT_FOUND_SCORE:
        return True
    return best.score >= TEXT_FUZZY_SCORE and (best.commune.population or 0) >= BIG_TOWN


def _content_words(key: str) -> list[str]:
    words = key.split()
    while words and words[0] in _LEADING_FUNCTION_WORDS:
        words.pop(0)
    return words


def _plausible_after_cue(names: Names, key: str, capitalised: bool, home: str | None) -> bool:
    """Whether an exact name after a place cue is meant as a place.

    A name that is an ordinary word ("ville", "rue", "poste") counts only when written with
    a capital letter inside a sentence, or when it is a big enough town ("à tours").
    """
    content = _content_words(key)
    if not content or (len(content) == 1 and content[0] in place_words.GRAMMAR):
        return False
    if capitalised or len(content) > 1 or content[0] not in ordinary_words():
        return True
    return names.population(key) >= lexicon().town_needed(content[0])


def _plausible_anywhere(key: str) -> bool:
    """Outside a place cue: multi-word names, or rare words of five letters or more."""
    content = _content_words(key)
    ordinary = ordinary_words()
    if len(content) > 1:
        return any(word not in ordinary for word in content)
    return (
        len(content) == 1
        and len(content[0]) >= 5
        and content[0] not in ordinary
        and content[0] not in place_words.GRAMMAR
        and not content[0].isdigit()
    )


def _big_town_at_home(names: Names, key: str, home: str | None) -> bool:
    """A big town of the home département is meant even when its name is also a word
    ("garage solidaire muret" in Haute-Garonne)."""
    content = _content_words(key)
    if home is None or len(content) != 1 or len(content[0]) < 4:
        return False
    return content[0] not in place_words.GRAMMAR and names.population(key, home) >= BIG_TOWN


def _fuzzy_worthy(words: list[str]) -> bool:
    """A span worth a fuzzy search: it starts with a content word and has a word of four
    letters or more that is no ordinary word (the one that may be misspelt)."""
    content = _content_words(" ".join(words))
    if not content or content[0] in place_words.GRAMMAR or any(w.isdigit() for w in content):
        return False
    ordinary = ordinary_words()
    if len(content) == 1:
        return len(content[0]) >= 4 and content[0] not in ordinary
    return content[0] not in place_words.COMMON and any(
        len(w) >= 4 and w not in ordinary for w in content
    )
