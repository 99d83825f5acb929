"""Where an upstream record is: its commune, its département, and a point for distances.

Everything comes from the communes gazetteer (`bot.places`): the INSEE code first, then the
postal code with the commune's name, then the coordinates (nearest commune within 20 km).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bot.data_inclusion.records import Record
from bot.places import Commune, Gazetteer, distance_km

_NEAREST_MAX_KM: Final = 20.0


@dataclass(frozen=True, slots=True)
class Whereabouts:
    commune: Commune | None
    how: str  # "code_insee", "code_postal", "coordonnees", ""

    @property
    def departement(self) -> str | None:
        return self.commune.dept if self.commune else None


class Locator:
    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    def where(self, record: Record) -> Whereabouts:
        code = record.get("code_insee")
        if isinstance(code, str):
            commune = self.gazetteer.get(code)
            if commune is not None:
                return Whereabouts(commune, "code_insee")
        postal, name = record.get("code_postal"), record.get("commune")
        if isinstance(postal, str) or isinstance(name, str):
            query = " ".join(str(p) for p in (postal, name) if isinstance(p, str))
            found = self.gazetteer.resolve(query)
            if found.status == "found" and found.candidates:
                return Whereabouts(found.candidates[0].commune, "code_postal")
        lat, lon = record.get("latitude"), record.get("longitude")
        if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
            nearest = self.gazetteer.nearest(float(lat), float(lon))
            if (
                nearest is not None
                and nearest.lat is not None
                and nearest.lon is not None
                and distance_km(lat, lon, nearest.lat, nearest.lon) <= _NEAREST_MAX_KM
            ):
                return Whereabouts(nearest, "coordonnees")
        return Whereabouts(None, "")

    def zone_departements(self, codes: list[str]) -> set[str]:
        """The départements a `zone_eligibilite` names (codes of départements, communes, EPCI)."""
        found: set[str] = set()
        for code in codes:
            if code == "france" or code.startswith("99"):
                continue
            if len(code) <= 3:
                found.add(code)
            elif len(code) == 9 and code.isdigit():
                found.update(c.dept for c in self.gazetteer.communes_of_epci(code))
            else:
                commune = self.gazetteer.get(code)
                if commune is not None:
                    found.add(commune.dept)
        return found
