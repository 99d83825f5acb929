"""How commune names and what people type are folded into matching keys.

One definition, used by the gazetteer's index (`bot.places`) and by text spotting
(`bot.place_spotting`): lower case, no accents, every non-alphanumeric run one space, "St"/"Ste"
written out, ordinals "15ème"/"1er" written "15e"/"1e".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.text import fold

_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_SHORTENED = {full: short for short, full in _ABBREVIATIONS.items()}
_ORDINAL = re.compile(r"\b(\d{1,2}) ?(?:e|er|ere|eme|ieme|em|me)\b")
_NON_ALNUM_LINES = re.compile(r"[^a-z0-9\n]+")
_ABBREVIATED = re.compile(r"\b(?:st|ste|sts|stes)\b")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
ARTICLES = frozenset(("le", "la", "les", "l"))
# A name's beginning never ends on one of these ("pont a" is no key of Pont-à-Mousson).
_LINKING = frozenset(("a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le"))
_LINKING |= frozenset(("les", "lez", "sous", "sur", "saint", "sainte"))
_HEAD_MIN_LETTERS = 4  # a one-word beginning shorter than this ("bar", "val") is no key


def place_key(text: str) -> str:
    """Folded matching key: `fold`, St/Ste expanded, ordinals "15ème"/"1er" written "15e"/"1e"."""
    words = [_ABBREVIATIONS.get(word, word) for word in fold(text).split()]
    return _ORDINAL.sub(r"\1e", " ".join(words))


def name_keys(names: Sequence[str]) -> list[str]:
    """`place_key` of many names from the data at once, in bulk C-level string operations.

    Equal to `[place_key(n) for n in names]` for every name of the gazetteer (tested), and
    about ten times faster, which keeps `Gazetteer.load` quick.
    """
    text = unicodedata.normalize("NFKD", "\n".join(names).lower().translate(_LIGATURES))
    text = text.encode("ascii", "ignore").decode("ascii")
    text = _NON_ALNUM_LINES.sub(" ", text)
    text = _ABBREVIATED.sub(lambda m: _ABBREVIATIONS[m.group()], text)
    text = _ORDINAL.sub(r"\1e", text)
    return [line.strip() for line in text.split("\n")]


def short_key(key: str) -> str | None:
    """A name key without its leading article ("le fauga" → "fauga"), or None if it has none."""
    first, _, rest = key.partition(" ")
    return rest if first in ARTICLES and rest else None


def head_keys(key: str) -> list[str]:
    """The beginnings of a compound name that people write for the whole name.

    "jarville la malgrange" → ["jarville"]; "cosne cours sur loire" → ["cosne",
    "cosne cours"]; "saint ouen sur seine" → ["saint ouen"]. A beginning never ends on a
    linking word ("pont a"), and a one-word beginning has at least four letters.
    """
    words = key.split()
    heads: list[str] = []
    for size in range(1, len(words)):
        if words[size - 1] in _LINKING:
            continue
        if size == 1 and (len(words[0]) < _HEAD_MIN_LETTERS or words[0].isdigit()):
            continue
        heads.append(" ".join(words[:size]))
    return heads


def abbreviated_key(key: str) -> str | None:
    """A name key with Saint/Sainte written St/Ste, as people type it ("st denis"), or None."""
    words = key.split()
    short = [_SHORTENED.get(word, word) for word in words]
    return " ".join(short) if short != words else None
