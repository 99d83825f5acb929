"""Text helpers shared by the whole core: folding for matching, and "did you mean"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz, process

# Latin letters and digits, and the Arabic letters (people write Arabic too: it is kept).
_NON_ALNUM = re.compile(r"[^a-z0-9\u0621-\u064a]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'"})
# Arabic spelling variants folded for matching: hamza-carrying alefs, final yaa and taa marbuta,
# the tatweel, and Arabic-Indic digits.
_ARABIC = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ة": "ه",
        "ـ": None,
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)


# Lexicon variants that fold into these would rewrite every sentence ("jé" → "je").
COMMON_WORDS = frozenset(
    [
        "je",
        "j",
        "tu",
        "il",
        "elle",
        "on",
        "ce",
        "se",
        "sa",
        "ses",
        "ces",
        "et",
        "est",
        "a",
        "as",
        "en",
        "la",
        "le",
        "les",
        "un",
        "une",
        "de",
        "des",
        "du",
        "ou",
        "ma",
        "me",
        "mes",
        "ne",
        "pas",
        "que",
        "qui",
    ]
)


def fold(text: str) -> str:
    """Lower case, no accents, ligatures opened, every non-alphanumeric run made one space.

    `fold("L'Haÿ-les-Roses")` is `"l hay les roses"`. Arabic letters are kept, without their
    vowel marks. Used for matching only, never shown.
    """
    text = unicodedata.normalize("NFKC", text).lower().translate(_LIGATURES).translate(_ARABIC)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text).strip()


def inside_a_sentence(label: str) -> str:
    """A label as it reads inside a sentence: its first letter in lower case, unless its first
    word is an acronym ("RSA recipient", "AI", not "rSA recipient", "aI")."""
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return label
    return label[:1].lower() + label[1:]


def did_you_mean(value: str, candidates: Iterable[str], cutoff: float = 60) -> str | None:
    """The candidate closest to `value`, if it is close enough to be a likely typo."""
    pool = list(candidates)
    if not pool:
        return None
    best = process.extractOne(value, pool, scorer=fuzz.ratio, score_cutoff=cutoff)
    return best[0] if best else None


_FEMININE = (("rices", "eur"), ("euses", "eur"), ("rice", "eur"), ("euse", "eur"))


def stem(word: str) -> str:
    """A folded word without the endings that change with gender and number, for matching.

    "handicapées", "handicapée" and "handicapé" all give "handicap"; "travailleuse" gives
    "travailleur"; "salariés" gives "salari". Short words are left alone; Arabic words lose
    their definite article ("السياقة" → "سياقه").
    """
    if len(word) <= 3:
        return word
    if "\u0621" <= word[0] <= "\u064a":
        for article in ("وال", "بال", "فال", "كال", "ال", "لل"):
            if word.startswith(article) and len(word) - len(article) >= 3:
                return word[len(article) :]
        return word
    for ending, replacement in _FEMININE:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return word[: -len(ending)] + replacement
    if word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    if word.endswith("e") and len(word) > 4:  # "handicapee" → "handicape" → "handicap"
        word = word[:-1]
    return word
