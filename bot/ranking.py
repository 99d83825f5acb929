"""Where to send a person: eligibility zone first, distance second.

Built once per knowledge base: services are bucketed by category on a coarse grid, so a search
looks only at the cells around the person, whatever the size of the knowledge base.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.kb.knowledge import KnowledgeBase
from bot.kb.models import Service, Structure, Zone
from bot.kept import Kept
from bot.places import EARTH_RADIUS_KM, Commune, Gazetteer

CELL_DEG = 0.5
ZONE_ONLY_CATEGORIES = frozenset({"ebe_tzcld"})  # residence in the zone is the rule, not km
SEARCHES_KEPT = 1024  # results kept per index (a few kB each)


@dataclass(frozen=True, slots=True)
class Place:
    """Something we can point to: a service with its structure, or a referent (orienteur)."""

    service: Service | None
    structure: Structure
    categorie: str
    lat: float | None
    lon: float | None
    zone_keys: frozenset[str]  # empty: open to anyone within the radius
    remote: bool
    dept: str | None = None  # the département it is in, when known

    @property
    def key(self) -> str:
        """Stable within a knowledge base: what the state remembers of a structure shown."""
        if self.service is not None:
            return self.service.id
        return f"{self.structure.id}|{self.categorie}"


@dataclass(frozen=True, slots=True)
class Proposal:
    place: Place
    distance_km: float | None
    in_zone: bool


@dataclass(frozen=True, slots=True)
class SearchResult:
    proposals: tuple[Proposal, ...]
    radius_km: float
    widened: bool


SearchKey = tuple[tuple[str, ...], Commune, float, float, int]


def person_keys(commune: Commune) -> frozenset[str]:
    keys = {f"c:{commune.insee}", f"d:{commune.dept}", f"r:{commune.region}", "f"}
    if commune.epci:
        keys.add(f"e:{commune.epci}")
    return frozenset(keys)


# A place on the grid: (place, longitude, latitude in radians, that latitude's cosine), the parts
# of the haversine distance that do not depend on the person, computed once. A tuple: built for
# every place at each reload, and unpacked in every search.
_Located = tuple[Place, float, float, float]


class PlaceIndex:
    """Services (or referents) by category, on a grid of CELL_DEG degrees."""

    def __init__(self, places: Iterable[Place]) -> None:
        self._grid: dict[str, dict[tuple[int, int], list[_Located]]] = defaultdict(dict)
        self._unlocated: dict[str, list[Place]] = defaultdict(list)
        self.by_key: dict[str, Place] = {}
        self._searches: Kept[SearchKey, SearchResult] = Kept(SEARCHES_KEPT)
        for place in places:
            self.by_key.setdefault(place.key, place)
            lat, lon = place.lat, place.lon
            if lat is None or lon is None or place.remote:
                self._unlocated[place.categorie].append(place)
            else:
                phi = math.radians(lat)
                located = (place, lon, phi, math.cos(phi))
                self._grid[place.categorie].setdefault(_cell(lat, lon), []).append(located)

    def places(self) -> Iterator[Place]:
        """Every place of the index (each once)."""
        for unlocated in self._unlocated.values():
            yield from unlocated
        for cells in self._grid.values():
            for located in cells.values():
                for near in located:
                    yield near[0]

    def search(
        self,
        categories: Sequence[str],
        commune: Commune,
        radius_km: float,
        max_km: float,
        limit: int = 50,
    ) -> SearchResult:
        """Eligible places of these categories, nearest first; widen to max_km if none.

        A result depends only on its arguments and the index: the last ones are kept (a
        conversation searches again at each page and each fact given, and people write from
        the same communes)."""
        key = (tuple(categories), commune, radius_km, max_km, limit)
        return self._searches.get(key, lambda: self._search(*key))

    def _search(
        self,
        categories: tuple[str, ...],
        commune: Commune,
        radius_km: float,
        max_km: float,
        limit: int,
    ) -> SearchResult:
        keys = person_keys(commune)
        found = self._within(categories, commune, keys, radius_km)
        widened = False
        if not any(p.distance_km is not None or p.in_zone for p in found) and max_km > radius_km:
            found, widened = self._within(categories, commune, keys, max_km), True
        found.sort(key=_order)
        return SearchResult(tuple(found[:limit]), max_km if widened else radius_km, widened)

    def _within(
        self, categories: Sequence[str], commune: Commune, keys: frozenset[str], km: float
    ) -> list[Proposal]:
        out: list[Proposal] = []
        lat, lon = commune.lat, commune.lon
        for cat in categories:
            for place in self._unlocated.get(cat, ()):
                proposal = _zone_only(place, keys)
                if proposal is not None:
                    out.append(proposal)
            if lat is None or lon is None:
                continue
            zone_only = cat in ZONE_ONLY_CATEGORIES
            # `distance_km` inlined, with the person's half computed once per search (the
            # same operations in the same order: the same distances to the last bit)
            phi = math.radians(lat)
            cos_phi = math.cos(phi)
            # a place further north or south than the radius is further than the radius
            max_dphi = km / EARTH_RADIUS_KM * (1 + 1e-9)
            for place, place_lon, place_phi, place_cos_phi in self._near(cat, lat, lon, km):
                in_zone = bool(place.zone_keys & keys)
                if place.zone_keys and not in_zone:
                    continue
                dphi = place_phi - phi
                if not zone_only and abs(dphi) > max_dphi:
                    continue
                dlambda = math.radians(place_lon - lon)
                h = math.sin(dphi / 2) ** 2 + cos_phi * place_cos_phi * math.sin(dlambda / 2) ** 2
                distance = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
                if zone_only:
                    if in_zone:
                        out.append(Proposal(place, round(distance, 1), True))
                    continue
                if distance <= km:
                    out.append(Proposal(place, round(distance, 1), in_zone))
        first: dict[tuple[str, str], Proposal] = {}
        for p in out:  # one line per structure and category, the first found
            first.setdefault((p.place.structure.id, p.place.categorie), p)
        return list(first.values())

    def _near(self, categorie: str, lat: float, lon: float, km: float) -> Iterator[_Located]:
        grid = self._grid.get(categorie)
        if not grid:
            return
        dlat = km / 111.0
        dlon = km / max(1.0, 111.0 * math.cos(math.radians(lat)))
        i0, j0 = _cell(lat - dlat, lon - dlon)
        i1, j1 = _cell(lat + dlat, lon + dlon)
        if (i1 - i0 + 1) * (j1 - j0 + 1) > len(grid):
            for bucket in grid.values():
                yield from bucket
            return
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                yield from grid.get((i, j), ())

    def nearest(
        self, categories: Sequence[str], commune: Commune, km: float, dept: str | None = None
    ) -> Proposal | None:
        """The nearest place of these categories (zone permitting), for naming a referent;
        with `dept`, only one in that département (a person's referent is in their territory)."""
        result = self._within(categories, commune, person_keys(commune), km)
        if dept is not None:
            result = [p for p in result if p.place.dept in (dept, None)]
        result.sort(key=_order)
        return result[0] if result else None


def build_indexes(
    kb: KnowledgeBase, gazetteer: Gazetteer, earlier: tuple[PlaceIndex, PlaceIndex] | None = None
) -> tuple[PlaceIndex, PlaceIndex]:
    """(services index, referents index) for one knowledge base.

    `earlier`: the indexes of the base before a reload, built with the same gazetteer. A place
    depends on its service, its structure and, through their `zones`, on the base's zones: the
    places of the same service and structure objects (a reload keeps unchanged records) without
    zones are kept as they were.
    """
    # Places of one territory have equal zones: one set for them all (4 MB less at national
    # scale, where 21,000 places have a few hundred different zones).
    zones: dict[frozenset[str], frozenset[str]] = {}
    # (from `by_key`, quicker to read than `places()`: of two places that share a key, the
    # second is made again)
    before = {id(p.service): p for p in earlier[0].by_key.values()} if earlier else {}
    services: list[Place] = []
    for service in kb.services:
        structure = kb.structures.get(service.structure_id)
        if structure is None or structure.statut != "actif" or service.statut != "actif":
            continue
        kept = before.get(id(service))
        if (  # the same records, and no zones (which may have changed): the same place
            kept is not None
            and kept.service is service
            and kept.structure is structure
            and not service.zones
        ):
            zones.setdefault(kept.zone_keys, kept.zone_keys)
            services.append(kept)
            continue
        lat, lon = _coordinates(gazetteer, service, structure)
        remote = service.modes_accueil == ["a-distance"]
        zone_keys = _zone_keys(service.zone_eligibilite, service.zones, kb.zones)
        zone_keys = zones.setdefault(zone_keys, zone_keys)
        dept = _dept(gazetteer, service.code_insee or structure.code_insee)
        services.append(
            Place(service, structure, service.categorie, lat, lon, zone_keys, remote, dept)
        )
    earlier_referents: dict[tuple[int, str], Place] = {}
    for referent in earlier[1].by_key.values() if earlier else ():
        earlier_referents[(id(referent.structure), referent.categorie)] = referent
    referents: list[Place] = []
    for orienteur in kb.orienteurs:
        if orienteur.statut != "actif":
            continue
        same = [earlier_referents.get((id(orienteur), cat)) for cat in orienteur.categories]
        kept_places = [p for p in same if p is not None and p.structure is orienteur]
        if not orienteur.zones and len(kept_places) == len(same):
            for place in kept_places:
                zones.setdefault(place.zone_keys, place.zone_keys)
            referents += kept_places
            continue
        lat, lon = _coordinates(gazetteer, None, orienteur)
        zone_keys = _zone_keys(orienteur.zone_eligibilite, orienteur.zones, kb.zones)
        zone_keys = zones.setdefault(zone_keys, zone_keys)
        dept = _dept(gazetteer, orienteur.code_insee)
        for cat in orienteur.categories:
            referents.append(Place(None, orienteur, cat, lat, lon, zone_keys, False, dept))
    del before, earlier_referents  # (before the indexes are built: a lower peak of memory)
    return PlaceIndex(services), PlaceIndex(referents)


def _dept(gazetteer: Gazetteer, insee: str | None) -> str | None:
    commune = gazetteer.get(insee) if insee else None
    return commune.dept if commune is not None else None


def _order(p: Proposal) -> tuple[int, float]:
    return (1 if p.distance_km is None else 0, p.distance_km or 0.0)


def _zone_only(place: Place, keys: frozenset[str]) -> Proposal | None:
    if not place.zone_keys or "f" in place.zone_keys or place.zone_keys & keys:
        return Proposal(place, None, bool(place.zone_keys & keys))
    return None


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG))


def _coordinates(
    gazetteer: Gazetteer, service: Service | None, structure: Structure
) -> tuple[float | None, float | None]:
    for source in (service, structure):
        if source is not None and source.latitude is not None and source.longitude is not None:
            return source.latitude, source.longitude
    for source in (service, structure):
        if source is not None and source.code_insee:
            commune = gazetteer.get(source.code_insee)
            if commune is not None and commune.lat is not None:
                return commune.lat, commune.lon
    return None, None


_ZONE_PREFIX = {
    "commune": "c",
    "liste_communes": "c",
    "epci": "e",
    "departement": "d",
    "region": "r",
}


def _zone_keys(
    codes: Iterable[str], zone_ids: Iterable[str], zones: dict[str, Zone]
) -> frozenset[str]:
    keys = {_code_key(code) for code in codes}
    for zone_id in zone_ids:
        zone = zones.get(zone_id)
        if zone is None:
            continue
        if zone.type == "pays":
            keys.add("f")
        else:
            keys.update(f"{_ZONE_PREFIX[zone.type]}:{code}" for code in zone.codes)
    return frozenset(keys)


def _code_key(code: str) -> str:
    """A d·i v1 `zone_eligibilite` code: INSEE commune, département, EPCI SIREN or france."""
    if code == "france":
        return "f"
    if len(code) == 9 and code.isdigit():
        return f"e:{code}"
    if len(code) <= 3:
        return f"d:{code}"
    return f"c:{code}"
