"""A v1 record (already validated) → a record of our knowledge base, ready to be written.

Only the fields our models know are kept; our additions are the category and the status. Codes
the gazetteer does not know are dropped (the check would refuse them), and a record without
coordinates gets its commune's centre, said in a comment beside the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ValidationError

from bot.data_inclusion.locate import Locator
from bot.data_inclusion.records import Record
from bot.kb.checks import eligibility_code_problem
from bot.kb.models import ServiceSchema, StructureSchema

Section = Literal["structures", "services", "orienteurs"]
SECTIONS: Final[tuple[Section, ...]] = ("structures", "services", "orienteurs")
OUR_MODELS: Final[dict[Section, type[BaseModel]]] = {
    "structures": StructureSchema,
    "services": ServiceSchema,
    "orienteurs": StructureSchema,
}

_STRUCTURE_ORDER: Final = (
    "source", "id", "nom", "categories", "statut", "description", "date_maj", "lien_source",
    "siret", "commune", "code_postal", "code_insee", "adresse", "complement_adresse",
    "latitude", "longitude", "telephone", "courriel", "site_web", "horaires_accueil",
    "accessibilite_lieu", "reseaux_porteurs", "zone_eligibilite",
)  # fmt: skip
_SERVICE_ORDER: Final = (
    "source", "id", "structure_id", "nom", "categorie", "statut", "description", "date_maj",
    "type", "thematiques", "frais", "frais_precisions", "publics", "publics_precisions",
    "conditions_acces", "commune", "code_postal", "code_insee", "adresse", "complement_adresse",
    "latitude", "longitude", "telephone", "courriel", "contact_nom_prenom", "modes_accueil",
    "zone_eligibilite", "lien_mobilisation", "modes_mobilisation", "mobilisable_par",
    "mobilisation_precisions", "volume_horaire_hebdomadaire", "nombre_semaines",
    "horaires_accueil",
)  # fmt: skip
FIELD_ORDER: Final[dict[Section, tuple[str, ...]]] = {
    "structures": _STRUCTURE_ORDER,
    "services": _SERVICE_ORDER,
    "orienteurs": _STRUCTURE_ORDER,
}
COMMUNE_CENTRE: Final = "centre de la commune (répertoire des communes), pas l'adresse exacte"


@dataclass(slots=True)
class OutRecord:
    """One record as it will be written: data in field order, and end-of-line comments."""

    section: Section
    id: str
    data: dict[str, Any]
    comments: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Conversion:
    record: OutRecord | None
    notes: list[str]  # what was dropped, said for an admin
    located: bool  # has coordinates or a known commune
    filled: bool = False  # coordinates of the commune's centre were put in
    error: str | None = None


class Converter:
    def __init__(self, locator: Locator) -> None:
        self.locator = locator
        self.gazetteer = locator.gazetteer

    def convert(self, section: Section, upstream: Record, extra: dict[str, Any]) -> Conversion:
        allowed = OUR_MODELS[section].model_fields
        data: dict[str, Any] = {}
        for name, value in {**upstream, **extra}.items():
            if name in allowed:
                data[name] = value.strip() if isinstance(value, str) else value
        notes: list[str] = []
        comments: dict[str, str] = {}
        self._check_codes(data, notes)
        had_point = data.get("latitude") is not None and data.get("longitude") is not None
        located = self._fill_coordinates(data, comments)
        filled = located and not had_point
        ordered = _ordered(section, data)
        try:
            OUR_MODELS[section].model_validate(ordered)
        except ValidationError as invalid:
            reasons = "; ".join(
                f"{'.'.join(str(x) for x in e['loc'])} : {e['msg']}"
                for e in invalid.errors(include_url=False)
            )
            error = f"non conforme au format d'Aiguillage ({reasons})"
            return Conversion(None, notes, located, filled, error)
        record = OutRecord(section, str(data["id"]), ordered, comments)
        return Conversion(record, notes, located, filled)

    def _check_codes(self, data: dict[str, Any], notes: list[str]) -> None:
        code = data.get("code_insee")
        if isinstance(code, str) and code not in self.gazetteer:
            notes.append(f"code INSEE inconnu « {code} » retiré")
            del data["code_insee"]
        zone = data.get("zone_eligibilite")
        if isinstance(zone, list):
            kept = [c for c in zone if eligibility_code_problem(str(c), self.gazetteer) is None]
            for dropped in sorted(set(zone) - set(kept)):
                notes.append(f"code de zone inconnu « {dropped} » retiré de zone_eligibilite")
            if kept:
                data["zone_eligibilite"] = kept
            else:
                del data["zone_eligibilite"]

    def _fill_coordinates(self, data: dict[str, Any], comments: dict[str, str]) -> bool:
        if data.get("latitude") is not None and data.get("longitude") is not None:
            return True
        data.pop("latitude", None)
        data.pop("longitude", None)
        where = self.locator.where(data)
        commune = where.commune
        if commune is None or commune.lat is None or commune.lon is None:
            return False
        if "code_insee" not in data:
            data["code_insee"] = commune.insee
            comments["code_insee"] = "déduit du code postal et du nom de la commune"
        data.setdefault("commune", commune.name)
        data["latitude"], data["longitude"] = commune.lat, commune.lon
        comments["latitude"] = COMMUNE_CENTRE
        return True


def _ordered(section: Section, data: dict[str, Any]) -> dict[str, Any]:
    order = FIELD_ORDER[section]
    result = {name: data[name] for name in order if name in data}
    result.update((k, v) for k, v in data.items() if k not in result)
    return result
