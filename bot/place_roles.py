"""The role of each place named in a message, from the words before it.

- **home**: where the person lives, or where a trip starts ("j'habite", "je vis à", "je suis
  de", "habitant de", "installée à", "domicilié à", "je reste à", "I live in", "depuis
  Rethel", "de X à Y", "from X");
- **destination**: where they must go ("aller à", "pour aller jusqu'à", "me rendre à",
  "jusqu'à", "vers" after a movement verb, "get to", "go to");
- **workplace**: where they work or will work ("travaille à", "bosse à", "mon contrat
  commence à", "poste à", "embauchée à", "job in");
- **search** (the default): where they look for help or work ("à", "sur", "vers", "près de",
  "autour de", "du côté de", "dans le coin de", "in", "near", a name alone).

Everything works on the folded words of the message (`bot.place_keys.place_key` of each word),
so accents, apostrophes and case do not matter. Of several cues, the one nearest the name wins
("je bosse et je vis à Noyon": home).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Role = Literal["home", "destination", "workplace", "search"]

WINDOW = 8  # words looked at before a place (never across another place or a clause)


def _any(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


_FILL = r"(?: [a-z0-9]+)"  # one word between a verb and its preposition
# The subject before a verb belongs to the cue ("j habite", "i live in").
_WHO = r"(?:(?:j|je|tu|il|elle|on|nous|vous|ils|elles|i|we|you|he|she|they) )?"
_AT = _any(
    "a",
    "au",
    "aux",
    "en",
    "sur",
    "dans",
    "vers",
    "pres de",
    "pres d",
    "a cote de",
    "a cote d",
    "cote de",
    "du cote de",
    "du cote d",
    "autour de",
    "autour d",
    "dans le coin de",
    "dans le coin d",
    "in",
    "at",
    "near",
    "around",
)
_TO = _any("a", "au", "aux", "en", "sur", "dans", "vers", "jusqu a", "jusqu au", "jusque", "to")

_HOME_VERB = _any(
    "habite",
    "habites",
    "habitons",
    "habitez",
    "habitent",
    "jhabite",
    "vis",
    "vit",
    "vivons",
    "vivez",
    "vivent",
    "jvis",
    "reside",
    "resides",
    "residons",
    "residez",
    "resident",
    "reste",
    "restes",
    "restons",
    "restez",
    "restent",
    "live",
    "lives",
    "living",
    "based",
    "staying",
)
_HOME_FROM = _any("suis", "jsuis", "chui", "viens", "venant", "originaire", "originaires")
_HOME_PARTICIPLE = _any(
    "installe",
    "installee",
    "installes",
    "installees",
    "domicilie",
    "domiciliee",
    "domicilies",
    "domiciliees",
    "residant",
    "residante",
    "habitant",
    "habitante",
    "habitants",
    "habitantes",
)
_HOME = [
    # Arabic script and darija: "ساكن ف", "أسكن في", "saken f", "ana f", "ana mn"
    r"(?:ساكن|ساكنه|اسكن|اعيش|عايش|كنسكن|انا)(?: في| ف| من)?",
    r"(?:saken|sakna|kanskon|ana)(?: f| fi| mn| men)?",
    rf"{_WHO}{_HOME_VERB}{_FILL}{{0,2}}(?: {_AT})?",
    rf"{_WHO}{_HOME_FROM}{_FILL}? {_any('de', 'd', 'du', 'des')}",
    rf"{_HOME_PARTICIPLE} {_any(_AT, 'de', 'd', 'du')}",
    _any("depuis", "from", "partant de", "partant d", "au depart de", "au depart d"),
]

_MOVE_VERB = _any(
    "aller",
    "vais",
    "vas",
    "va",
    "allons",
    "allez",
    "vont",
    "aille",
    "ailles",
    "aillent",
    "allant",
    "irai",
    "iras",
    "ira",
    "irons",
    "iront",
    "partir",
    "pars",
    "part",
    "partons",
    "rendre",
    "rends",
    "rend",
    "rendez",
    "rende",
    "rendes",
    "rendent",
    "deplacer",
    "deplace",
    "descendre",
    "monter",
    "rentrer",
    "rentre",
    "retourner",
    "retourne",
    "emmener",
    "amener",
    "venir",
    "trajet",
    "trajets",
    "navette",
    "route",
    "go",
    "goes",
    "going",
    "get",
    "getting",
    "travel",
    "commute",
    "commuting",
    "drive",
    "driving",
    "move",
    "moving",
    "come",
    "coming",
)
_APPOINTMENT = _any("entretien", "rendez vous", "rdv", "convocation", "convoque", "convoquee")
_DESTINATION = [
    rf"{_MOVE_VERB}{_FILL}{{0,3}} {_TO}",
    rf"{_any('rejoindre', 'rejoins', 'rejoint')}(?: {_TO})?",
    _any("jusqu a", "jusqu au", "jusqu aux", "jusque", "jusqua"),
    rf"{_APPOINTMENT}{_FILL}{{0,3}} {_any('a', 'au', 'aux', 'en', 'sur', 'dans', 'in', 'at')}",
]

_WORK_VERB = _any(
    "travaille",
    "travailles",
    "travaillons",
    "travaillez",
    "travaillent",
    "travailler",
    "travaillais",
    "travaillait",
    "bosse",
    "bosses",
    "bossons",
    "bossez",
    "bossent",
    "bosser",
    "bossais",
    "taffe",
    "taffer",
    "work",
    "works",
    "working",
)
_JOB = _any(
    "contrat",
    "poste",
    "mission",
    "emploi",
    "job",
    "travail",
    "boulot",
    "taf",
    "taff",
    "stage",
    "cdi",
    "cdd",
    "interim",
    "alternance",
    "apprentissage",
    "chantier",
)
_STARTS = _any(
    "commence",
    "commencera",
    "commencerait",
    "debute",
    "debutera",
    "demarre",
    "demarrera",
    "reprend",
    "est",
    "sera",
    "serait",
    "se trouve",
    "se situe",
    "se passe",
    "se deroule",
    "c est",
    "starts",
    "is",
)
_HIRED = _any(
    "embauche",
    "embauchee",
    "embauches",
    "embauchees",
    "recrute",
    "recrutee",
    "recrutes",
    "recrutees",
    "engage",
    "engagee",
    "hired",
    "employed",
)
_WORKPLACE = [
    rf"{_WHO}{_WORK_VERB}{_FILL}{{0,2}} {_any(_AT, 'for')}",
    rf"{_JOB}{_FILL}{{0,3}} {_STARTS}{_FILL}? {_any(_AT, 'de', 'd')}",
    rf"{_HIRED}{_FILL}? {_any(_AT, 'chez', 'par')}",
    rf"{_any('salarie', 'salariee', 'salaries', 'salariees')}{_FILL}{{0,4}} {_any(_AT, 'chez')}",
]
# "un poste à Compiègne" is a workplace, "je cherche un poste à Nancy" a search.
_JOB_AT = [
    rf"{_any('poste', 'postes', 'job', 'jobs')} {_any('a', 'au', 'aux', 'en', 'sur', 'in', 'at')}"
]
_SEEKING = re.compile(
    r"\b(?:cherche|cherches|recherche|recherches|chercher|trouver|veux|voudrais|aimerais|"
    r"souhaite|envie|besoin|looking|search|searching|find|want)\b"
)

_SEARCH = re.compile(rf"(?:^| )({_AT}|de|d|du|sur la commune de)$")
# What joins the start of a trip to its end: "de Rethel à Reims", "from Rethel to Reims".
_TRIP_JOIN = frozenset(["a", "au", "aux", "jusqu a", "jusqu au", "vers", "to"])
_TRIP_FROM = frozenset(["de", "d", "du", "depuis", "from"])


def _compiled(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(rf"(?:^| )({pattern})$") for pattern in patterns]


_RULES: list[tuple[Role, list[re.Pattern[str]]]] = [
    ("workplace", _compiled(_WORKPLACE)),
    ("destination", _compiled(_DESTINATION)),
    ("home", _compiled(_HOME)),
]
_JOB_AT_RULES = _compiled(_JOB_AT)


def role_of(before: str, clause: str) -> tuple[Role, str | None]:
    """The role of a place from the folded words just before it, and the cue that says so.

    `before`: the words before the place (no other place in them); `clause`: the words of
    its clause up to the place, to tell "un poste à X" from "je cherche un poste à X".
    """
    best: tuple[int, Role, str] | None = None
    rules = list(_RULES)
    if not _SEEKING.search(clause):
        rules.append(("workplace", _JOB_AT_RULES))
    for role, patterns in rules:
        for pattern in patterns:
            found = pattern.search(before)
            if found and (best is None or found.start(1) > best[0]):
                best = (found.start(1), role, found.group(1))
    if best is not None:
        return best[1], best[2]
    found = _SEARCH.search(before)
    return "search", found.group(1) if found else None


def assign_roles(
    keys: Sequence[str], clause_starts: frozenset[int], spans: Sequence[tuple[int, int]]
) -> list[tuple[Role, str | None]]:
    """Role and cue of each place of a message.

    `keys`: the folded words of the message; `clause_starts`: indexes of the words that open
    a clause; `spans`: the places, as (first word, end) in text order.
    """
    roles: list[tuple[Role, str | None]] = []
    previous_end = 0
    for first, end in spans:
        clause = max((i for i in clause_starts if i <= first), default=0)
        window_start = max(previous_end, clause, first - WINDOW)
        before = " ".join(keys[window_start:first])
        clause_words = " ".join(keys[max(clause, previous_end) : first])
        roles.append(role_of(before, clause_words))
        previous_end = end
    return _trips(keys, spans, roles)


def _trips(
    keys: Sequence[str],
    spans: Sequence[tuple[int, int]],
    roles: list[tuple[Role, str | None]],
) -> list[tuple[Role, str | None]]:
    """ "de Rethel à Reims", "from Rethel to Reims": the first is home, the second the
    destination, when only "à"/"jusqu'à"/"vers"/"to" stands between them."""
    result = list(roles)
    for i in range(1, len(spans)):
        between = " ".join(keys[spans[i - 1][1] : spans[i][0]])
        role, cue = result[i - 1]
        if between not in _TRIP_JOIN or cue not in _TRIP_FROM or role not in ("home", "search"):
            continue
        result[i - 1] = ("home", cue)
        if result[i][0] == "search":
            result[i] = ("destination", between)
    return result
