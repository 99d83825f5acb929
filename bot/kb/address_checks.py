"""Does a record's address hold together? INSEE code, commune name, postal code, coordinates.

For each structure, service and referent that gives a known `code_insee`:

- the `commune` name must be that commune's (or a former name of it, or its arrondissement):
  a name that is another commune's is an error, with that commune's code as the fix; a name
  that is no commune's is a warning (a typo, or the wrong code: the message says which commune
  the code is);
- the `code_postal` must be one of that commune's: a postal code of other communes is an
  error, with the right one as the fix when the commune has only one; a code La Poste gives no
  commune (a CEDEX, say) is a warning;
- `latitude`/`longitude` more than `FAR_KM` from the commune's centre, and nearer another
  commune's, are a warning that says how far (and "swapped?" when swapping them fits).

Problems go through the caller's `Finding` (`bot.kb.checks`), which makes the errors of a
record imported from another source (`source` other than `local`) warnings: such a record is
corrected upstream or in its file, and never blocks its département.

The checks need the gazetteer's names, postal codes and coordinates (`AddressBook`); with a
gazetteer that has none (tests' fakes), they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Protocol, runtime_checkable

from bot.kb.models import Service, Structure
from bot.place_keys import place_key
from bot.places import distance_km
from bot.text import did_you_mean

FAR_KM: Final = 5.0
# Cities with municipal arrondissements: the city's code and the prefix of theirs.
_ARRONDISSEMENTS: Final = {"75056": "751", "69123": "6938", "13055": "132"}
_CEDEX_WORDS: Final = frozenset({"cedex"})
_MAX_LISTED: Final = 4


class Commune(Protocol):
    @property
    def insee(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def dept(self) -> str: ...
    @property
    def postal_codes(self) -> tuple[str, ...]: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...


@runtime_checkable
class AddressBook(Protocol):
    """What these checks read from `bot.places.Gazetteer`."""

    def get(self, insee: str, /) -> Commune | None: ...
    def named(self, name: str, /) -> Sequence[Commune]: ...
    def with_postal_code(self, code: str, /) -> Sequence[Commune]: ...
    def nearest(self, lat: float, lon: float, /) -> Commune | None: ...


class Finding(Protocol):
    """Reports a problem at a field of the record: `severity` is "error" or "warning";
    `offset` is a character index in the field's text, to point at it."""

    def __call__(
        self,
        severity: str,
        message: str,
        *field: str | int,
        fix: str | None = None,
        offset: int | None = None,
    ) -> None: ...


def check_address(item: Structure | Service, book: AddressBook, report: Finding) -> None:
    """Report what does not hold together in `item`'s address (see the module docstring)."""
    if item.code_insee is None:
        return
    commune = book.get(item.code_insee)
    if commune is None:
        return  # an unknown code: reported by the reference checks
    if item.commune and not _check_name(item.commune, item.code_insee, commune, book, report):
        return  # the code is another commune's: its postal code and place would say it again
    if item.code_postal:
        _check_postal_code(item.code_postal, commune, book, report)
    if item.latitude is not None and item.longitude is not None:
        _check_coordinates(item.latitude, item.longitude, commune, book, report)


def same_place(a: Commune, b: Commune) -> bool:
    """The same commune, or a city and one of its municipal arrondissements."""
    if a.insee == b.insee:
        return True
    for city, prefix in _ARRONDISSEMENTS.items():
        pair = {a.insee, b.insee}
        if city in pair and all(code == city or code.startswith(prefix) for code in pair):
            return True
    return False


def _without_cedex(name: str) -> str:
    words = name.replace("-", " ").split()
    for i, word in enumerate(words):
        if word.lower() in _CEDEX_WORDS:
            return " ".join(words[:i])
    return name


def _check_name(
    written: str, code: str, commune: Commune, book: AddressBook, report: Finding
) -> bool:
    """False when the name is another commune's (an error), else True."""
    name = _without_cedex(written) or written
    named = book.named(name)
    if any(same_place(other, commune) for other in named):
        return True
    if not named:
        if did_you_mean(place_key(name), [place_key(commune.name)], cutoff=80):
            report(
                "warning",
                f"commune « {written} » mal écrite ? Le code INSEE « {code} » est celui de "
                f"{commune.name}",
                "commune",
                fix=f"commune: {commune.name}",
            )
            return True
        report(
            "warning",
            f"aucune commune ne s'appelle « {written} » ; le code INSEE « {code} » est celui de "
            f"{commune.name} ({commune.dept}) : vérifiez le nom et le code",
            "commune",
        )
        return True
    local = [other for other in named if other.dept == commune.dept] or list(named)
    if len(local) == 1:
        right = local[0]
        report(
            "error",
            f"le code INSEE « {code} » est celui de {commune.name} ({commune.dept}), pas de "
            f"{right.name} ({right.insee})",
            "code_insee",
            fix=f'code_insee: "{right.insee}" si la fiche est à {right.name}, sinon '
            f"commune: {commune.name}",
        )
        return False
    listed = ", ".join(f"{o.name} ({o.dept}) : {o.insee}" for o in local[:_MAX_LISTED])
    more = " …" if len(local) > _MAX_LISTED else ""
    report(
        "error",
        f"le code INSEE « {code} » est celui de {commune.name} ({commune.dept}), pas de "
        f"« {written} » : plusieurs communes portent ce nom ({listed}{more})",
        "code_insee",
    )
    return False


def _check_postal_code(postal: str, commune: Commune, book: AddressBook, report: Finding) -> None:
    if postal in commune.postal_codes or not commune.postal_codes:
        return
    codes = ", ".join(commune.postal_codes[:8]) + (" …" if len(commune.postal_codes) > 8 else "")
    fix = f'code_postal: "{commune.postal_codes[0]}"' if len(commune.postal_codes) == 1 else None
    owners = [o for o in book.with_postal_code(postal) if not same_place(o, commune)]
    if owners:
        report(
            "error",
            f"le code postal « {postal} » n'est pas celui de {commune.name} ({codes}) : c'est "
            f"celui de {_names(owners)}",
            "code_postal",
            fix=fix,
        )
        return
    report(
        "warning",
        f"code postal « {postal} » inconnu de La Poste (un code CEDEX ?) ; ceux de "
        f"{commune.name} : {codes}",
        "code_postal",
        fix=fix,
    )


def _check_coordinates(
    lat: float, lon: float, commune: Commune, book: AddressBook, report: Finding
) -> None:
    if commune.lat is None or commune.lon is None:
        return
    far = distance_km(lat, lon, commune.lat, commune.lon)
    if far <= FAR_KM:
        return
    nearest = book.nearest(lat, lon)
    if nearest is not None and same_place(nearest, commune):
        return  # a large commune: still inside it, most likely
    shown = f"{far:.1f}".replace(".", ",")
    if distance_km(lon, lat, commune.lat, commune.lon) <= FAR_KM:
        report(
            "warning",
            f"latitude et longitude inversées ? Ces coordonnées sont à {shown} km de "
            f"{commune.name}, et à côté une fois échangées",
            "latitude",
            fix=f"latitude: {lon}, longitude: {lat}",
        )
        return
    near = f", plus près de {nearest.name} ({nearest.insee})" if nearest is not None else ""
    report(
        "warning",
        f"coordonnées à {shown} km du centre de {commune.name} ({commune.insee}){near} : "
        "vérifiez latitude et longitude, ou le code INSEE",
        "latitude",
    )


def _names(communes: Iterable[Commune]) -> str:
    found = list(communes)
    shown = ", ".join(f"{c.name} ({c.insee})" for c in found[:_MAX_LISTED])
    return shown + (" …" if len(found) > _MAX_LISTED else "")
