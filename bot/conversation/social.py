"""Moves of the conversation: greetings, thanks, yes/no, "I don't know", help, a human, more.

The words live in the knowledge base (`lexique.yaml`, `langage`), in French, English, Arabic
script and arabizi; they are matched on word stems. Greetings, yes, no, help, "more" and
question words count at the start of a message or sentence; the others anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.conversation.lexicon import PhraseIndex, Words
from bot.kb.models import Langage

_ENGLISH = frozenset(
    """
i am im looking for job work help what is the hello hi need car my please where how can you
want find near live living in and of to it studies friend told me about there
""".split()
)
_FRENCH = frozenset(
    """
je suis cherche travail bonjour aide quoi est une un le la les des du de pour avec mon ma mes
habite vers pres j ai pas c et au
""".split()
)
_ARABIZI = frozenset(
    """
bghit khdma nkhdem wach kayn fin 3andi ana mabghitch bzaf chno kifach dyal dial tomobil sakna
m3a
""".split()
)
_AT_START = ("salutations", "oui", "non", "aide", "encore", "questions")
_ANYWHERE = ("remerciements", "ne_sait_pas", "humain", "rappel", "definitions")


@dataclass(frozen=True, slots=True)
class Moves:
    greeting: bool
    thanks: bool
    yes: bool
    no: bool
    skip: bool
    asks_help: bool
    asks_human: bool
    asks_callback: bool  # "rappelez-moi", "call me back": a call-back, not only a contact
    asks_more: bool
    defines: bool  # asks what a word means ("c'est quoi", "ça veut dire")


class Social:
    """The conversation words of one knowledge base, compiled once."""

    def __init__(self, langage: Langage, normalise: Callable[[str], str] = str) -> None:
        self._words = PhraseIndex(
            (kind, [normalise(w) for w in getattr(langage, kind)])
            for kind in (*_AT_START, *_ANYWHERE)
        )

    def heard(self, words: Words) -> tuple[set[str], set[str]]:
        """(kinds heard at the start, kinds heard anywhere)."""
        at_start, anywhere = set(), set()
        for hit in self._words.hits(words):
            anywhere.add(hit.owner)
            if hit.start == 0:
                at_start.add(hit.owner)
        return at_start, anywhere

    def moves(self, words: Words) -> Moves:
        at_start, anywhere = self.heard(words)
        return Moves(
            greeting="salutations" in at_start,
            thanks="remerciements" in anywhere,
            yes="oui" in at_start,
            no="non" in at_start,
            skip="ne_sait_pas" in anywhere,
            asks_help="aide" in at_start,
            asks_human="humain" in anywhere or "rappel" in anywhere,
            asks_callback="rappel" in anywhere,
            asks_more="encore" in at_start,
            defines="definitions" in anywhere,
        )

    def is_question(self, sentence: str, normalised: str) -> bool:
        if "?" in sentence or "؟" in sentence:
            return True
        return "questions" in self.heard(Words.of(normalised))[0]


def language(folded: str) -> str:
    """ "en" when the words are mostly English, "ar" for Arabic script or darija, else "fr"."""
    words = folded.split()
    if not words:
        return "fr"
    arabic_letters = sum(1 for ch in folded if "\u0621" <= ch <= "\u064a")
    if arabic_letters >= max(3, len(folded.replace(" ", "")) // 3):
        return "ar"
    if sum(w in _ARABIZI for w in words) >= 2:
        return "ar"
    if len(words) < 2:
        return "fr"
    english = sum(w in _ENGLISH for w in words)
    french = sum(w in _FRENCH for w in words)
    return "en" if english >= 2 and english > french else "fr"
