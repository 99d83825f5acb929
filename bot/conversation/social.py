"""Small talk and conversation moves: greetings, thanks, yes/no, "I don't know", help, a human.

Matched on the folded, lexicon-normalised text; French, English, and darija in Latin letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GREETING = re.compile(
    r"^(bonjour|bonsoir|salut|coucou|slt|bjr|cc|hello|hi|hey|yo|allo|salam|slm|"
    r"salam alaykoum|salam alikoum|السلام عليكم|سلام|مرحبا)\b"
)
_THANKS = re.compile(r"\b(merci|thanks|thank you|mrc|mci|choukran|shukran|chokran|شكرا)\b")
_YES = re.compile(
    r"^(oui|ouais|ok|okay|d accord|dac|yes|yep|ouai|bien sur|volontiers|o|wah|ih|نعم)\b"
)
_NO = re.compile(r"^(non|nan|no|nope|pas du tout|jamais|لا)\b")
_SKIP = re.compile(
    r"\b(je ne sais pas|je sais pas|jsp|sais pas|passer|aucune idee|je prefere ne pas|"
    r"pas envie de dire|i don t know|dont know|skip|ma3raftch|ma3reftch|لا اعرف)\b"
)
_HELP = re.compile(
    r"^(aide|aidez|aider|help|sos|au secours|je (ne )?sais (pas|plus) quoi faire|"
    r"je suis perdue?|j ai besoin d aide|besoin d aide)\b"
)
_HUMAN = re.compile(
    r"\b(parler a (un|une) (conseiller|conseillere|personne|humain|agent)|parler a quelqu un|"
    r"(un|une) (vrai|vraie) (personne|humain)|etre rappelee?|rappelez moi|me rappeler|"
    r"appelez moi|talk to (a|an|someone|somebody)|call me back|a human|real person)\b"
)
_MORE = re.compile(
    r"^(voir )?(d autres|encore|plus de (choix|resultats|structures)|autres structures|"
    r"voir plus|more|see more|show more|autre chose de proche)\b"
)
_QUESTION_START = re.compile(
    r"^(c est quoi|c quoi|cest quoi|qu est ce|quest ce|comment|pourquoi|combien|est ce que|"
    r"est ce qu|quand|qui|quel|quelle|quels|quelles|ou|a quoi|ca marche comment|"
    r"what|how|why|who|when|where|can i|do i|is it|is there|are there|je peux|on peut|peut on|"
    r"puis je|ai je|dois je|faut il|il faut|y a t il|existe t il|هل|ما|كيف|wach|chno|kifach)\b"
)
_ENGLISH = frozenset(
    """
i am im looking for job work help what is the hello hi need car my please where how can
you want find near live living in and of to it studies friend told me about there
""".split()
)
_FRENCH = frozenset(
    """
je suis cherche travail bonjour aide quoi est une un le la les des du de pour avec mon
ma mes habite vers pres j ai pas c et au
""".split()
)
_ARABIZI = frozenset(
    """
bghit khdma nkhdem wach kayn fin 3andi ana mabghitch bzaf chno kifach dyal dial tomobil
sakna m3a
""".split()
)


@dataclass(frozen=True, slots=True)
class Moves:
    greeting: bool
    thanks: bool
    yes: bool
    no: bool
    skip: bool
    asks_help: bool
    asks_human: bool
    asks_more: bool


def moves(normalised: str) -> Moves:
    return Moves(
        greeting=bool(_GREETING.match(normalised)),
        thanks=bool(_THANKS.search(normalised)),
        yes=bool(_YES.match(normalised)),
        no=bool(_NO.match(normalised)),
        skip=bool(_SKIP.search(normalised)),
        asks_help=bool(_HELP.match(normalised)),
        asks_human=bool(_HUMAN.search(normalised)),
        asks_more=bool(_MORE.match(normalised)),
    )


def is_question_sentence(sentence: str, folded: str) -> bool:
    return "?" in sentence or "؟" in sentence or bool(_QUESTION_START.match(folded))


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
