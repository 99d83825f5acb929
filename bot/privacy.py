"""Masking what identifies a person in free text, before anything is stored or logged.

`mask_personal` replaces, in a message the bot could not understand (the only free text kept):
- phone numbers, French and international, found by the `phonenumbers` library's matcher
  (the French region first, so "06 12 34 56 78" counts), → « [téléphone] »;
- any other long run of digits (7 digits or more, with spaces, dots or dashes: a social security
  number, a CAF or France Travail identifier, a bank account) → « [numéro] »;
- e-mail addresses and platform handles (@pseudo, @user:server) → « [e-mail] », « [pseudo] »;
- names given in the usual ways ("je m'appelle …", "mon nom est …", "moi c'est …",
  "my name is …", "Mme …", "M. …") → « [nom] ».

Short numbers are kept on purpose: a postal code (54000), an age (17 ans) or a year help admins
understand the question and identify nobody. A name said without one of these phrases cannot be
recognised reliably: the retention rules and /oubli cover what masking misses.
"""

from __future__ import annotations

import re

import phonenumbers

PHONE = "[téléphone]"
NUMBER = "[numéro]"
EMAIL = "[e-mail]"
HANDLE = "[pseudo]"
NAME = "[nom]"

# Each pattern starts only where a token starts (a look-behind), so that a long run of letters
# or digits is scanned once, not once per position: masking stays linear in the text's length.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w@])@[\w.=-]{2,}(?::[\w.-]+)?")
# 7+ digits in groups separated by one space, dot, dash or slash ("1 85 05 78 006 084 36").
_DIGITS = re.compile(r"(?<![\w])\+?\d(?:[ .\-/]?\d){6,}(?![\w])")

_APOSTROPHE = "['’ʼ`´]"
_INTRODUCTIONS = (
    rf"je\s*m{_APOSTROPHE}?\s*app?ell?e?s?",  # je m'appelle, jm'appel, je mapelle
    rf"j{_APOSTROPHE}?\s*m{_APOSTROPHE}?\s*app?ell?e?s?",
    r"mon\s+(?:pr[ée]nom|nom)\s+(?:est|c['’]est|:)",
    r"mon\s+(?:pr[ée]nom|nom)\s+de\s+famille\s+(?:est|c['’]est|:)",
    rf"moi\s*,?\s*c{_APOSTROPHE}?\s*est",
    r"my\s+name\s+is",
    rf"my\s+name{_APOSTROPHE}s",
    r"i\s+am\s+called",
    r"call\s+me",
    r"(?:madame|monsieur|mademoiselle|mme|mlle|mr|mrs|ms|m\.)",
)
_NAME_WORD = r"[^\W\d_][\w'’\-]*"
# Words that end a name: what usually follows one in a message.
_NOT_A_NAME = {
    "et", "je", "j", "jai", "j'ai", "j’ai", "suis", "habite", "ai", "a", "à", "de", "du", "des",
    "mon", "ma", "mes", "and", "i", "i'm", "im", "from", "live", "am", "have", "my", "avec",
    "pour", "car", "mais", "svp", "stp", "merci", "bonjour", "le", "la", "les", "un", "une",
    "sur", "dans", "en", "au", "aux", "qui", "que", "quoi", "est", "c'est", "cest", "ans",
    "jcherche", "jsuis", "chui", "chuis", "jveux", "jvoudrais", "jhabite", "jpeux", "jsais",
    "jvais", "jviens", "jbosse", "jtravaille", "cherche", "veux", "voudrais", "voilà", "voila",
}  # fmt: skip
_ELIDED = re.compile(r"(?:[jldcmnst]|qu)['’]")  # j'habite, c'est, l'adresse: not names
_INTRO = re.compile(
    rf"(?<![\w])(?:{'|'.join(_INTRODUCTIONS)})(?![\w])\s*(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})",
    re.IGNORECASE,
)


def mask_personal(text: str, *, phone: str = PHONE) -> str:
    """The text with phone numbers, long numbers, e-mails, handles and names masked.

    `phone` is what a phone number becomes (logs say « [numéro] »: there most long numbers are
    ids, masked all the same)."""
    masked = _EMAIL.sub(EMAIL, text)
    masked = _HANDLE.sub(HANDLE, masked)
    masked = _mask_phones(masked, phone)
    masked = _DIGITS.sub(NUMBER, masked)
    return _INTRO.sub(_mask_name, masked)


def _mask_phones(text: str, label: str) -> str:
    if not any(c.isdigit() for c in text):
        return text
    spans = [
        (match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(
            text, "FR", leniency=phonenumbers.Leniency.POSSIBLE
        )
    ]
    for start, end in reversed(spans):
        text = text[:start] + label + text[end:]
    return text


def _mask_name(match: re.Match[str]) -> str:
    words = re.findall(rf"{_NAME_WORD}|\s+", match.group("name"))
    kept_until = 0
    names = 0
    for index, word in enumerate(words):
        if not word.strip():
            continue
        lowered = word.lower()
        if lowered in _NOT_A_NAME or word.startswith("[") or _ELIDED.match(lowered):
            break
        names += 1
        kept_until = index + 1
    if names == 0:
        return match.group(0)
    rest = "".join(words[kept_until:])
    head = match.group(0)[: match.start("name") - match.start(0)]
    return f"{head}{NAME}{rest}"
