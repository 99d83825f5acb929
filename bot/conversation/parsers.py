"""Facts in everyday words: ages, durations and dates, read from a normalised message.

Each parser reads the folded, lexicon-normalised text (no accents, no punctuation) and returns
plain values; none of them decides anything. Number words become digits with `text2num`
("quarante deux ans" → 42, "il y a sept mois" → 7). Dates become durations in months on the
dialogue's `today` ("depuis 2021", "depuis l'été dernier", "depuis mars").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from text_to_num import alpha2digit

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}  # fmt: skip
SEASON_START = {"ete": 7, "summer": 7, "hiver": 1, "winter": 1, "printemps": 4, "spring": 4,
                "automne": 10, "autumn": 10, "fall": 10, "rentree": 9, "toussaint": 11,
                "noel": 12}  # fmt: skip
SEVERAL_YEARS_MONTHS = 24  # "depuis des années": at least two years
ALWAYS_MONTHS = 240  # "depuis toujours", "jamais travaillé"


def digits(folded: str, english: bool = False) -> str:
    """The text with number words written as digits ("dix neuf ans" → "19 ans")."""
    try:
        return str(alpha2digit(folded, "en" if english else "fr", threshold=0))
    except Exception:
        return folded


# --- ages ---------------------------------------------------------------------------------------

_AGE = re.compile(
    r"\b(?:j ai|ai|age de|agee? de|moi|i am|i m|im|aged|turned|3andi|عمري|عندي)\s+(\d{1,2})"
    r"(?:\s*(?:ans?|years?(?: old)?|yo|سنه|3am))?\b(?!\s*(?:mois|semaines?|jours?|months?|euros?))"
    r"|\b(\d{1,2})\s*(?:ans|an|years? old|yo)\b(?!\s*(?:de|d|que|qu|sans|et demi)\b)"
    r"(?P<tail>\s*(?:au|en)\b)?"
)
# "un jeune de vingt ans que je suis", "une dame de 58 ans": a person's age, whatever follows
_AGE_OF_SOMEONE = re.compile(
    r"\b(?:jeune|homme|femme|monsieur|madame|dame|fille|fils|garcon|personne|ado|adolescente?|"
    r"lyceenne?|etudiante?|beneficiaire|demandeu(?:r|se)|gars|nana)\s+de\s+(\d{1,2})\s*ans\b"
)
_BORN_IN = re.compile(r"\b(?:ne|nee|born)\s+(?:en|in)\s+((?:19|20)\d\d)\b")
MIN_AGE_BEFORE_AU = 16
_NOT_AGE_BEFORE = frozenset(["depuis", "pendant", "for", "fait", "y", "dans", "plus", "moins"])


def age(text: str) -> int | None:
    """An age said in the message ("j'ai 24 ans", "I'm 24", "dix-neuf ans", "24 ans")."""
    found = age_match(text)
    return None if found is None else found[0]


def age_match(text: str, today: dt.date | None = None) -> tuple[int, int, int] | None:
    """(age, start, end) of the age said in the message, if any: the person's own first
    ("j'ai 45 ans et mon fils de 16 ans": 45), else an age said of someone, else a birth year
    ("né en 2004", with `today`)."""
    own = _own_age(text)
    if own is not None:
        return own
    said = _AGE_OF_SOMEONE.search(text)
    if said is not None and 10 <= int(said.group(1)) <= 99:
        return int(said.group(1)), said.start(1), said.end()
    born = _BORN_IN.search(text) if today is not None else None
    if born is not None and today is not None and 10 <= today.year - int(born.group(1)) <= 99:
        return today.year - int(born.group(1)), born.start(), born.end()
    return None


def _own_age(text: str) -> tuple[int, int, int] | None:
    for match in _AGE.finditer(text):
        value = int(match.group(1) or match.group(2))
        before = text[: match.start()].split()[-2:]
        if match.group(2) and any(word in _NOT_AGE_BEFORE for word in before):
            continue  # "depuis 2 ans", "il y a 3 ans": a duration
        if match.group("tail") and value < MIN_AGE_BEFORE_AU:
            continue  # "2 ans au chômage" is a duration; "23 ans, au chômage" an age
        if (
            match.group(1)
            and match.group(0).startswith(("j ai", "ai"))
            and "ans" not in (match.group(0))
        ):
            continue  # "j'ai 2 enfants"
        if 10 <= value <= 99:
            return value, match.start(), match.end()
    return None


def bare_number(text: str) -> int | None:
    """A number given alone as an answer ("24", "j'ai 24", "24 !")."""
    match = re.fullmatch(r"\D{0,12}?(\d{1,3})\D{0,12}", text)
    return int(match.group(1)) if match else None


# --- durations ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration found in the text, in months, with where it was said.

    `marked`: said with a time word ("depuis", "il y a", "ça fait", a date), not a bare amount
    ("24 ans" alone may be an age).
    """

    months: int
    start: int  # character offsets in the text it was read from
    end: int
    marked: bool = True


_UNIT = r"(ans?|annees?|mois|semaines?|years?|months?|weeks?|سنوات|سنه|سنين|اشهر|شهر)"
_AMOUNT = re.compile(rf"\b(\d{{1,3}})\s*{_UNIT}(\s+et\s+demie?|\s+and\s+a\s+half)?\b")
_YEAR = re.compile(r"\b(?:depuis|since|en|from|mn|men|منذ|مند)\s+(?:(\w+)\s+)?((?:19|20)\d\d)\b")
_MONTH_ONLY = re.compile(r"\b(?:depuis|since)\s+(?:le mois de\s+)?(" + "|".join(MONTHS) + r")\b")
_ARRIVED_IN = re.compile(  # an arrival or the loss of a job in a month: since then
    r"\b(?:arrivee?s?|installee?s?|emmenagee?s?|demenagee?s?|venue?s? vivre|moved|licenciee?s?|"
    r"perdu mon (?:travail|emploi|boulot|job)|fin de (?:mon )?contrat|lost my job)\b"
    r"[^,;.!?]{0,30}?\b(?:en|in)\s+(" + "|".join(MONTHS) + r")\b(?!\s+(?:19|20)\d\d)"
)
_SEASON = re.compile(
    r"\b(?:depuis|since)\s+(?:l |le |la |last )?(ete|hiver|printemps|automne|rentree|toussaint|"
    r"noel|summer|winter|spring|autumn|fall)(\s+dernier|\s+derniere|\s+passe)?"
    r"(?:\s+((?:19|20)\d\d))?\b"
)
_MONTH_OF_YEAR = re.compile(r"\b(?:de|d|a|au)\s+(" + "|".join(MONTHS) + r")\s+((?:19|20)\d\d)\b")
_SEASON_OF_YEAR = re.compile(  # "emménagé à l'été 2025": a season, with its year
    r"\b(?:a|au|en|in)\s+(?:l |le |la |the )?(ete|hiver|printemps|automne|rentree|toussaint|noel|"
    r"summer|winter|spring|autumn|fall)\s+((?:19|20)\d\d)\b"
)
_LAST_YEAR = re.compile(
    r"\b(?:depuis|since)\s+(?:l an dernier|l annee derniere|l an passe|l annee passee|last year)"
)
_SEVERAL_YEARS = re.compile(
    r"\b(?:depuis|since|for|ca fait)\s+(?:des annees|plusieurs annees|des ans|years|many years)\b"
)
_ALWAYS = re.compile(r"\b(?:depuis toujours|toujours vecu|jamais travaille|never worked|always)\b")
_TIME_WORDS = re.compile(
    r"\b(?:depuis|il y a|y a|ca fait|cela fait|pendant|since|for|ago|plus de|moins de|presque|"
    r"bientot|environ|منذ|مند)\s*(?:plus de |moins de |presque |environ |bientot |almost |nearly "
    r"|about |over |more than )?$"
)
_ARABIC_TWO = re.compile(r"(?:منذ|مند)\s+(سنتين|عامين|شهرين)")


def durations(text: str, today: dt.date) -> list[Duration]:
    """Every duration said, in months, in text order (dates become durations until `today`)."""
    found: list[Duration] = []
    for match in _AMOUNT.finditer(text):
        before = text[max(0, match.start() - 24) : match.start()]
        marked = bool(_TIME_WORDS.search(before))
        more = 1 if before.endswith(("plus de ", "more than ")) else 0
        months = _amount_months(match) + more
        found.append(Duration(months, match.start(), match.end(), marked))
    for match in _YEAR.finditer(text):
        month = MONTHS.get(match.group(1) or "")
        since = months_since(int(match.group(2)), month, today)
        if since is not None:
            found.append(Duration(since, match.start(), match.end()))
    for match in _MONTH_ONLY.finditer(text):
        if _YEAR.match(text, match.start()):
            continue
        found.append(Duration(_since_month(MONTHS[match.group(1)], today), *match.span()))
    for match in _ARRIVED_IN.finditer(text):  # "arrivée à Prémery en octobre": since then
        found.append(Duration(_since_month(MONTHS[match.group(1)], today), *match.span(1)))
    for match in _SEASON.finditer(text):
        start_month = SEASON_START[match.group(1)]
        year = match.group(3)  # "depuis le printemps 2025"
        since = months_since(int(year), start_month, today) if year else None
        found.append(Duration(since or _since_month(start_month, today), *match.span()))
    for match in _MONTH_OF_YEAR.finditer(text):  # "à la rentrée de septembre 2025"
        since = months_since(int(match.group(2)), MONTHS[match.group(1)], today)
        if since is not None:
            found.append(Duration(since, *match.span()))
    for match in _SEASON_OF_YEAR.finditer(text):
        since = months_since(int(match.group(2)), SEASON_START[match.group(1)], today)
        if since is not None:
            found.append(Duration(since, *match.span()))
    last_year = months_since(today.year - 1, None, today) or 12
    for pattern, months in ((_LAST_YEAR, last_year), (_SEVERAL_YEARS, SEVERAL_YEARS_MONTHS)):
        for match in pattern.finditer(text):
            found.append(Duration(months, *match.span()))
    for match in _ALWAYS.finditer(text):
        found.append(Duration(ALWAYS_MONTHS, *match.span()))
    for match in _ARABIC_TWO.finditer(text):
        found.append(Duration(2 if match.group(1) == "شهرين" else 24, *match.span()))
    found.sort(key=lambda d: d.start)
    return _without_overlaps(found)


def months_since(year: int, month: int | None, today: dt.date) -> int | None:
    """Months from a year (its middle when no month is said) or a month of that year to today."""
    if year > today.year or year < today.year - 80:
        return None
    if month is None:
        if year == today.year:
            return max(1, (today.month - 1) // 2)
        month = 7
    months = (today.year - year) * 12 + today.month - month
    return max(0, months)


def _since_month(month: int, today: dt.date) -> int:
    """Months since the last time it was `month` (this year, or last year if still to come)."""
    year = today.year if month <= today.month else today.year - 1
    return max(1, (today.year - year) * 12 + today.month - month)


def _amount_months(match: re.Match[str]) -> int:
    amount, unit = int(match.group(1)), match.group(2)
    half = bool(match.group(3))
    if unit.startswith(("an", "annee", "year")) or unit in ("سنوات", "سنه", "سنين"):
        return amount * 12 + (6 if half else 0)
    if unit.startswith(("semaine", "week")):
        return max(0, amount // 4)
    return amount


def _without_overlaps(found: list[Duration]) -> list[Duration]:
    kept: list[Duration] = []
    for duration in found:
        if kept and duration.start < kept[-1].end:
            continue
        kept.append(duration)
    return kept


# --- which fact a duration is about ---------------------------------------------------------

JOBLESS_CUES = re.compile(
    r"\b(chomage|chomeur|chomeuse|sans emploi|sans travail|sans boulot|sans job|pas de travail|"
    r"plus de travail|plus d emploi|plus travaille|pas travaille|jamais travaille|travaille plus|"
    r"travaille pas|"
    r"bosse plus|bosse pas|trouve rien|trouve pas|rien trouve|pas trouve|perdu mon emploi|"
    r"perdu mon travail|perdu mon boulot|perdu son emploi|perdu son travail|licenciee?s?|"
    r"demandeu(?:r|se|rs|ses) d emploi|inscrite? a france travail|privee?s? d emploi|"
    r"sans activite|fin de contrat|cherche (?:du|un) (?:travail|emploi|boulot|job)|"
    r"unemployed|out of work|lost my job|jobless|looking for (?:a )?(?:job|work)|bila khdma|"
    r"ma khdamtch|makhdamtch|ma khdemtch|ma khdamch)\b"
)
RESIDENT_CUES = re.compile(
    r"\b(habite|habitons|vis|vit|vivons|vecue?|grandie?|installee?s?|arrivee?s?|demenagee?s?|"
    r"emmenagee?s?|emmenager|"
    r"domiciliee?s?|reside|suis a|suis ici|live|lived|living|moved|sakna|ساكن|ساكنه|اسكن)\b"
)


_SAID_AFTER = re.compile(r"\b(?:ca fait|cela fait|voila)\s*(?:plus de |presque )?$")


def duration_facts(
    text: str, found: list[Duration], jobless_fact: str, resident_fact: str
) -> Iterator[tuple[str, int, Duration]]:
    """(fact, months, duration) for each duration that is clearly about a job or a home.

    The nearest cue before the duration decides ("installée à Revin depuis 2015 n'a plus
    d'emploi depuis 2022"); else the nearest cue just after it.
    """
    for duration in found:
        if not duration.marked:
            continue
        before = text[max(0, duration.start - 80) : duration.start]
        after = text[duration.end : duration.end + 50]
        # "ça fait trois ans que je trouve rien": what lasted is said after the duration
        looks_ahead = _SAID_AFTER.search(before) is not None
        # "toujours vécu ici", "jamais travaillé": the duration says what it is about
        fact = _nearest_cue(text[duration.start : duration.end], jobless_fact, resident_fact,
                            last=True)  # fmt: skip
        if fact is None and looks_ahead:
            fact = _nearest_cue(after[:40], jobless_fact, resident_fact, last=False)
        if fact is None:
            fact = _nearest_cue(before, jobless_fact, resident_fact, last=True)
        if fact is None:
            fact = _nearest_cue(after, jobless_fact, resident_fact, last=False)
        if fact is not None:
            yield fact, duration.months, duration


def _nearest_cue(window: str, jobless: str, resident: str, *, last: bool) -> str | None:
    best: tuple[int, str] | None = None
    for pattern, fact in ((JOBLESS_CUES, jobless), (RESIDENT_CUES, resident)):
        for match in pattern.finditer(window):
            position = match.end() if last else -match.start()
            if best is None or position > best[0]:
                best = (position, fact)
    return best[1] if best else None


# --- the parser of an answer to a question ---------------------------------------------------

AnswerParser = Callable[[str, dt.date], int | None]


def age_answer(text: str, today: dt.date) -> int | None:
    """An age given as the answer to "Quel âge avez-vous ?" ("24", "j'ai 24 ans", "vingt")."""
    return age(text) or bare_number(text)


def duration_answer(text: str, today: dt.date) -> int | None:
    """A duration given as an answer ("8 mois", "2 ans", "depuis 2021", "18")."""
    found = durations(text, today)
    if found:
        return found[0].months
    return bare_number(text)


ANSWER_PARSERS: dict[str, AnswerParser] = {"age": age_answer, "duree_mois": duration_answer}
