"""Text helpers shared by the whole core: folding for matching, and "did you mean"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz, process

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'"})


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

    `fold("L'Haÿ-les-Roses")` is `"l hay les roses"`. Used for matching only, never shown.
    """
    text = unicodedata.normalize("NFKC", text).lower().translate(_LIGATURES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", text).strip()


def did_you_mean(value: str, candidates: Iterable[str], cutoff: float = 60) -> str | None:
    """The candidate closest to `value`, if it is close enough to be a likely typo."""
    pool = list(candidates)
    if not pool:
        return None
    best = process.extractOne(value, pool, scorer=fuzz.ratio, score_cutoff=cutoff)
    return best[0] if best else None
