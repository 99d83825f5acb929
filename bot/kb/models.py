"""Pydantic models of the YAML knowledge base.

Structures and services keep data·inclusion v1 field names verbatim; our additions are few and
named in the docstrings. Cross-references (category ids, rule ids, zone ids, INSEE codes,
structure ids) are checked by `bot.kb.checks`, which knows the whole knowledge base.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.kb import vocab
from bot.text import did_you_mean


def one_of(what: str, allowed: Iterable[str]) -> AfterValidator:
    """A validator that accepts only `allowed` values and suggests the closest one otherwise."""
    allowed_set = frozenset(allowed)

    def check(value: str) -> str:
        if value not in allowed_set:
            hint = did_you_mean(value, allowed_set)
            suffix = f" — vouliez-vous dire « {hint} » ?" if hint else ""
            raise ValueError(f"{what} inconnu(e) « {value} »{suffix}")
        return value

    return AfterValidator(check)


CategoryId = Annotated[str, one_of("catégorie", vocab.CATEGORIES)]
StructureCategoryId = Annotated[str, one_of("catégorie", vocab.STRUCTURE_CATEGORIES)]
ReferentCategoryId = Annotated[str, one_of("catégorie d'orienteur", vocab.REFERENT_CATEGORIES)]
NeedId = Annotated[str, one_of("besoin", vocab.NEEDS)]
Statut = Annotated[str, one_of("statut", vocab.STATUTS)]
Famille = Annotated[str, one_of("famille", vocab.FAMILLES)]
Frais = Annotated[str, one_of("frais", vocab.DI_FRAIS)]
ModeAccueil = Annotated[str, one_of("mode d'accueil", vocab.DI_MODES_ACCUEIL)]
ModeMobilisation = Annotated[str, one_of("mode de mobilisation", vocab.DI_MODES_MOBILISATION)]
Mobilisable = Annotated[str, one_of("mobilisable_par", vocab.DI_MOBILISABLE_PAR)]
Public = Annotated[str, one_of("public", vocab.DI_PUBLICS)]
ReseauPorteur = Annotated[str, one_of("réseau porteur", vocab.DI_RESEAUX_PORTEURS)]
Thematique = Annotated[str, one_of("thématique", vocab.DI_THEMATIQUES)]
TypeService = Annotated[str, one_of("type de service", vocab.DI_TYPES)]
ZoneType = Annotated[str, one_of("type de zone", vocab.ZONE_TYPES)]
Prescription = Annotated[str, one_of("prescription", vocab.PRESCRIPTION)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=80)]
DiId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]*--[A-Za-z0-9_\-:.]+$", max_length=120)]
InseeCode = Annotated[str, Field(pattern=r"^(\d{5}|2[AB]\d{3})$")]
DeptCode = Annotated[str, Field(pattern=r"^(\d{2}|2[AB]|97\d)$")]
Url = Annotated[str, Field(pattern=r"^https?://\S+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --- meta -------------------------------------------------------------------------------------


class Recherche(Strict):
    rayon_defaut_km: float = Field(25, gt=0, le=200)
    rayon_max_km: float = Field(50, gt=0, le=300)
    rayons_proposes: list[float] = [5, 10, 25, 50]


class Contact(Strict):
    nom: str
    courriel: str | None = None
    telephone: str | None = None


class Urgence(Strict):
    libelle: str
    numero: str
    libelle_en: str | None = None


class Meta(Strict):
    """Deployment metadata of one département file."""

    schema_version: str = "1.0"
    departement: DeptCode
    departements_voisins: list[DeptCode] = Field(default_factory=list)
    nom: str
    responsable: Contact | None = None
    date_maj: dt.date
    data_inclusion_schema: str = "1.0.10"
    recherche: Recherche = Recherche()
    langues: list[str] = ["fr", "en"]
    urgences: list[Urgence] = Field(default_factory=list)
    # Our addition: who a person is handed to when they ask for a human.
    conseiller: Contact | None = None


# --- categories, needs --------------------------------------------------------------------------


class AccesParDefaut(Strict):
    mobilisable_par: list[Mobilisable] = ["usagers", "professionnels"]
    modes_mobilisation: list[ModeMobilisation] = Field(default_factory=list)
    prescription: Prescription = "non"


class DataInclusionMapping(Strict):
    reseaux_porteurs: list[ReseauPorteur] = Field(default_factory=list)
    thematiques: list[Thematique] = Field(default_factory=list)
    type: TypeService | None = None
    publics: list[Public] = Field(default_factory=list)


class Category(Strict):
    id: CategoryId
    famille: Famille
    libelle: str
    libelle_en: str | None = None
    sigles: list[str] = Field(default_factory=list)
    synonymes: list[str] = Field(default_factory=list)
    synonymes_langues: dict[str, list[str]] = Field(default_factory=dict)
    description_simple: str = Field("", max_length=400)
    description_simple_en: str = Field("", max_length=400)
    regle_eligibilite: Slug | None = None
    acces_par_defaut: AccesParDefaut = AccesParDefaut()
    orienteurs: list[ReferentCategoryId] = []  # which referents can orient towards it
    faq: list[Slug] = Field(default_factory=list)
    data_inclusion: DataInclusionMapping = DataInclusionMapping()
    non_verifie: bool = False  # our addition: a fact marked [unverified] in the sources


class Need(Strict):
    """Our addition: what a person may need, and which categories answer it."""

    id: NeedId
    libelle: str
    libelle_en: str
    categories: list[StructureCategoryId] = Field(default_factory=list)
    mots_cles: list[str] = Field(default_factory=list)
    mots_cles_en: list[str] = Field(default_factory=list)
    faits_requis: list[Literal["commune", "age", "situation", "duree_sans_emploi",
                               "residence_depuis"]] = []  # fmt: skip


# --- zones --------------------------------------------------------------------------------------


class Zone(Strict):
    id: Slug
    nom: str
    type: ZoneType
    codes: list[str] = Field(min_length=1)
    source: str | None = None
    date_maj: dt.date | None = None
    non_verifie: bool = False


# --- eligibility rules ----------------------------------------------------------------------------


class Rule(Strict):
    id: Slug
    libelle: str
    conditions: dict[str, Any]  # compiled and checked by bot.rules
    si_vrai: Literal["eligible", "a_verifier"] = "eligible"
    si_faux: Literal["non_eligible", "a_verifier"] = "a_verifier"
    si_inconnu: Literal["demander", "a_verifier"] = "demander"
    questions: dict[str, str] = Field(default_factory=dict)
    decide_par: str
    explication_si_vrai: str = ""
    explication_si_faux: str = ""
    alternatives: list[StructureCategoryId] = []  # what to offer when non_eligible
    sources: list[Url] = Field(default_factory=list)


# --- structures and services (data·inclusion v1 + extensions) -----------------------------------


class Address(Strict):
    commune: str | None = None
    code_postal: Annotated[str, Field(pattern=r"^\d{5}$")] | None = None
    code_insee: InseeCode | None = None
    adresse: str | None = None
    complement_adresse: str | None = None
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)
    telephone: str | None = None
    courriel: str | None = None
    horaires_accueil: str | None = None


class Structure(Address):
    """data·inclusion v1 Structure. Extensions: categories, statut, verifie_le, verifie_par,
    notes_admin, exemple, zone_eligibilite/zones (for referents)."""

    source: Slug
    id: DiId
    nom: str = Field(min_length=3, max_length=150)
    date_maj: dt.date
    description: str | None = None
    lien_source: Url | None = None
    siret: Annotated[str, Field(pattern=r"^\d{14}$")] | None = None
    site_web: Url | None = None
    accessibilite_lieu: Url | None = None
    reseaux_porteurs: list[ReseauPorteur] = Field(default_factory=list)
    # extensions
    categories: list[CategoryId] = Field(min_length=1)
    statut: Literal["actif", "suspendu", "ferme"] = "actif"
    verifie_le: dt.date | None = None
    verifie_par: str | None = None
    notes_admin: str | None = None
    exemple: bool = False
    zone_eligibilite: list[str] = Field(default_factory=list)
    zones: list[Slug] = Field(default_factory=list)


class Eligibilite(Strict):
    regle: Slug | None = None
    conditions: dict[str, Any] | None = None


class Periode(Strict):
    mois: list[Annotated[int, Field(ge=1, le=12)]] = Field(default_factory=list)
    du: dt.date | None = None
    au: dt.date | None = None


class Service(Address):
    """data·inclusion v1 Service. Extensions: categorie, statut, zones, eligibilite, periode,
    capacite, fermeture_temporaire, mots_cles, langues_accueil, frequence_maj, exemple."""

    source: Slug
    structure_id: DiId
    id: DiId
    nom: str = Field(min_length=3, max_length=150)
    description: str = Field(min_length=5, max_length=10000)
    date_maj: dt.date
    type: TypeService | None = None
    thematiques: list[Thematique] = Field(default_factory=list)
    frais: Frais | None = None
    frais_precisions: str | None = None
    publics: list[Public] = Field(default_factory=list)
    publics_precisions: str | None = None
    conditions_acces: str | None = None
    contact_nom_prenom: str | None = None
    modes_accueil: list[ModeAccueil] = Field(default_factory=list)
    zone_eligibilite: list[str] = Field(default_factory=list)
    lien_mobilisation: Url | None = None
    modes_mobilisation: list[ModeMobilisation] = Field(default_factory=list)
    mobilisable_par: list[Mobilisable] = Field(default_factory=list)
    mobilisation_precisions: str | None = None
    volume_horaire_hebdomadaire: float | None = None
    nombre_semaines: int | None = None
    # extensions
    categorie: StructureCategoryId
    statut: Literal["actif", "suspendu", "ferme"] = "actif"  # "ferme": gone from data·inclusion
    zones: list[Slug] = Field(default_factory=list)
    eligibilite: Eligibilite | None = None
    periode: Periode | None = None
    mots_cles: list[str] = Field(default_factory=list)
    langues_accueil: list[str] = Field(default_factory=list)
    frequence_maj: Literal["1m", "3m", "6m", "12m"] | None = None
    exemple: bool = False


# --- FAQ, lexicon --------------------------------------------------------------------------------


class Lien(Strict):
    titre: str
    url: Url


class Faq(Strict):
    id: Slug
    question: str
    question_en: str | None = None
    variantes: list[str] = Field(default_factory=list)
    variantes_langues: dict[str, list[str]] = Field(default_factory=dict)
    mots_cles: list[str] = Field(default_factory=list)
    reponse: str
    reponse_en: str | None = None
    reponse_courte: str | None = None
    categories: list[CategoryId] = Field(default_factory=list)
    liens: list[Lien] = Field(default_factory=list)
    sources: list[Url] = Field(min_length=1)
    public: Literal["beneficiaire", "professionnel", "tous"] = "tous"
    date_maj: dt.date
    valide_jusqu_au: dt.date | None = None
    portee: Literal["national", "departement"] = "national"
    non_verifie: bool = False


class LexiconEntry(Strict):
    terme: str
    variantes: list[str] = Field(min_length=1)


class StatutEntry(Strict):
    id: Statut
    libelle: str
    libelle_en: str | None = None
    synonymes: list[str] = Field(default_factory=list)


class HorsPerimetre(Strict):
    """Our addition: out-of-scope topics and who can help instead."""

    id: Slug
    mots_cles: list[str] = Field(min_length=1)
    reponse: str
    reponse_en: str | None = None


class National(Strict):
    urgences: list[Urgence] = Field(default_factory=list)
    urgence_mots_cles: list[str] = Field(default_factory=list)
    hors_perimetre: list[HorsPerimetre] = Field(default_factory=list)
    sources: list[Url] = Field(default_factory=list)
