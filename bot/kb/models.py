"""Models of the YAML knowledge base.

Pydantic models validate what admins write; structures and services are validated with the
data·inclusion v1 models of the `data-inclusion-schema` package (`StructureSchema`,
`ServiceSchema`) and kept by the running bot as light read-only records (`Structure`,
`Service`) with the same field names. Our additions are few and named in the docstrings.
Cross-references (category ids, rule ids, zone ids, INSEE codes, structure ids) are checked by
`bot.kb.checks`, which knows the whole knowledge base.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Final, Literal, NamedTuple, TypeVar

from data_inclusion.schema import v1 as di
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from bot.kb import vocab
from bot.kb.trusted_sources import normalise_domain
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
TrustedDomain = Annotated[str, AfterValidator(normalise_domain)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --- meta -------------------------------------------------------------------------------------


class Recherche(Strict):
    rayon_defaut_km: float = Field(25, gt=0, le=200)
    rayon_max_km: float = Field(50, gt=0, le=300)
    rayons_proposes: list[float] = [5, 10, 25, 50]


class Contact(Strict):
    nom: str
    courriel: EmailStr | None = None
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


# --- counsellors' referral codes ---------------------------------------------------------------

ReferralCodeId = Annotated[
    str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$", description="ex. CD54-TOUL-MDS")
]
MatrixRoomId = Annotated[str, Field(pattern=r"^!\S+$")]  # v12 room ids: no ":server"


class Demandes(Strict):
    """Where the call-back requests of a code go (at least one channel)."""

    libelle: str | None = None  # who calls back, as the person is told (default: the structure)
    telegram: int | None = None  # a Telegram group's chat id (negative)
    matrix: MatrixRoomId | None = None  # a Matrix room id, !salon:serveur
    courriel: list[EmailStr] = Field(default_factory=list)

    @field_validator("courriel")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class CodeConseiller(Strict):
    """Our addition: a counsellor's referral code, for links, QR codes and posters
    (`aiguillage link CODE`). A person who comes by it is greeted in the counsellor's name, the
    presets (need, commune) apply, and their call-back requests go to `demandes` (else to the
    département's default channel of config.yaml)."""

    code: ReferralCodeId
    libelle: str = Field(min_length=1, max_length=120)  # e.g. "MDS de Toul — Mme Martin"
    structure: str = Field(min_length=1, max_length=120)  # e.g. "Maison des solidarités de Toul"
    departement: DeptCode
    # how the person is greeted: "<accueil> vous a transmis ce lien."
    accueil: str | None = Field(None, max_length=160)
    territoire: list[InseeCode] = Field(default_factory=list)  # communes served (info)
    besoin: NeedId | None = None  # preset need
    commune: InseeCode | None = None  # preset commune
    demandes: Demandes | None = None
    exemple: bool = False


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
    besoin: NeedId | None = None  # the need it points to when named (default: the first)
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


class Indice(Strict):
    """Our addition: one cue of a need. Words that mean the same thing form one cue; a message
    scores the `poids` of every cue it contains, once each. `mots` are matched on folded word
    stems (gender and number do not matter); a word ending in `*` matches every word it starts.
    `statuts` are situations that point to the need when heard."""

    poids: int = Field(ge=1, le=5)
    mots: list[str] = Field(default_factory=list)
    statuts: list[Statut] = Field(default_factory=list)
    avec_un_autre: bool = False  # counts only when another cue of the same need is heard


class Need(Strict):
    """Our addition: what a person may need, and which categories answer it."""

    id: NeedId
    libelle: str
    libelle_en: str
    categories: list[StructureCategoryId] = Field(default_factory=list)
    mots_cles: list[str] = Field(default_factory=list)
    mots_cles_en: list[str] = Field(default_factory=list)
    mots_cles_langues: dict[str, list[str]] = Field(default_factory=dict)
    indices: list[Indice] = Field(default_factory=list)
    faits_requis: list[Literal["commune", "age", "situation", "duree_sans_emploi",
                               "residence_depuis"]] = []  # fmt: skip
    # A more precise form of another need ("a job" → "a job in an EBE"): named by one of its
    # phrases, it leads when the general one is heard in the same message.
    precise: NeedId | None = None


class AskableFact(Strict):
    """Our addition: a fact the bot may ask. `id` is the trace's `asking` value, `fait` the fact
    the eligibility rules test, `analyseur` the parser that reads an answer
    (bot/conversation/parsers.py)."""

    id: Slug
    fait: Slug
    type: Literal["nombre", "statuts"]
    analyseur: Literal["age", "duree_mois", "statuts"]
    libelle: str
    libelle_en: str
    question: str
    question_en: str
    invitation: str  # offered after an answer given at once, without asking
    invitation_en: str
    choix: list[Statut] = Field(default_factory=list)  # situations offered as buttons
    question_handicap: str | None = None  # asked instead when the need is about disability
    question_handicap_en: str | None = None
    ordre: int = 50  # which missing fact is asked first (smallest first)
    min: int = 0
    max: int = 1200


class Langage(Strict):
    """Our addition: the phrases that tell how a need or a place is meant.

    `demandes`: a request ("je cherche", "il existe", "where is"). `contextes`: what comes
    before something the person already has or is ("je suis salarié d'un", "mon conseiller de
    la", "accepter le poste"): what follows is their situation, not what they ask for."""

    demandes: list[str] = Field(default_factory=list)
    contextes: list[str] = Field(default_factory=list)
    # moves of the conversation (bot/conversation/social.py)
    salutations: list[str] = Field(default_factory=list)
    remerciements: list[str] = Field(default_factory=list)
    oui: list[str] = Field(default_factory=list)
    non: list[str] = Field(default_factory=list)
    ne_sait_pas: list[str] = Field(default_factory=list)
    aide: list[str] = Field(default_factory=list)
    humain: list[str] = Field(default_factory=list)  # to talk to a person
    rappel: list[str] = Field(default_factory=list)  # to be called back (consent asked at once)
    encore: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    definitions: list[str] = Field(default_factory=list)  # "c'est quoi", "what is"
    # questions about the structures just shown, by what they ask (adresse, telephone, …)
    resultats: dict[
        Literal["tout", "adresse", "telephone", "horaires", "cout", "acces", "distance", "bus"],
        list[str],
    ] = Field(default_factory=dict)
    # other names people give a commune (another script, a former town), by INSEE code
    noms_de_communes: dict[InseeCode, list[str]] = Field(default_factory=dict)


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
    explication_si_inconnu: str = ""  # what the structure will check when facts are missing
    # the same in English, for people who write in English (else the French is shown)
    decide_par_en: str = ""
    explication_si_vrai_en: str = ""
    explication_si_faux_en: str = ""
    explication_si_inconnu_en: str = ""
    alternatives: list[StructureCategoryId] = []  # what to offer when non_eligible
    sources: list[Url] = Field(default_factory=list)


# --- structures and services (data·inclusion v1 + extensions) -----------------------------------
#
# Validation uses the data·inclusion v1 models (`data_inclusion.schema.v1.Structure` and
# `.Service`) through the `StructureSchema` and `ServiceSchema` subclasses below. They keep what
# the standard checks: e-mail (EmailStr), URLs (HttpUrl), postal code, SIRET, name length and
# the "no final full stop" warning, description length, `tous-publics` alone, date_maj in the 21st
# century (not in the future: `bot.kb.checks`, which knows the day), volumes ≥ 0 and weeks ≥ 1.
# They change, explicitly:
# - lists instead of the standard's sets, so that order (shown to people) is kept and stable;
# - enumerations as plain strings with a French "did you mean" (values from the package);
# - URLs kept as written (checked as HttpUrl, not rewritten to punycode or with a final "/");
# - stricter ids (`source--identifiant`), INSEE codes and coordinates; `zone_eligibilite` codes
#   are checked against the gazetteer by `bot.kb.checks`;
# - our extension fields (below), and unknown fields refused.
#
# The running bot holds `Structure` and `Service`: read-only named tuples with the same field
# names and values (lists stay lists) as the validated models, in a fifth of their memory, and
# built from the compiled cache in a few µs. `Structure.model_validate(data)` validates with the
# schema and returns the record, for tests and tools.


def _checked_by(adapter: TypeAdapter[Any], message: str) -> AfterValidator:
    """Check a text with a pydantic type (HttpUrl…) and keep the text as written."""

    def check(value: str) -> str:
        try:
            adapter.validate_python(value)
        except ValidationError:
            raise ValueError(message.format(value=value)) from None
        return value

    return AfterValidator(check)


HttpUrlText = Annotated[
    str,
    _checked_by(
        TypeAdapter(HttpUrl),
        "adresse web invalide « {value} » (attendu : https://exemple.fr/…, sans espace)",
    ),
]


class _OnTheStandard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("date_maj", check_fields=False)
    @classmethod
    def date_maj_valide(cls, value: dt.date) -> dt.date:
        # Replaces the standard's validator of the same name: "not in the future" depends on the
        # day the base is checked, so bot.kb.checks does it; the cached validation does not.
        if value < dt.date(2000, 1, 1):
            raise ValueError("La date de dernière modification doit être au 21e siècle.")
        return value


class StructureSchema(_OnTheStandard, di.Structure):  # type: ignore[misc]
    """A structure as written in YAML: data·inclusion v1 Structure, plus our extensions."""

    source: Slug
    id: DiId
    code_insee: InseeCode | None = None
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)
    lien_source: HttpUrlText | None = None
    site_web: HttpUrlText | None = None
    accessibilite_lieu: HttpUrlText | None = None
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


class ServiceSchema(_OnTheStandard, di.Service):  # type: ignore[misc]
    """A service as written in YAML: data·inclusion v1 Service, plus our extensions."""

    source: Slug
    structure_id: DiId
    id: DiId
    code_insee: InseeCode | None = None
    longitude: float | None = Field(None, ge=-180, le=180)
    latitude: float | None = Field(None, ge=-90, le=90)
    lien_source: HttpUrlText | None = None
    lien_mobilisation: HttpUrlText | None = None
    type: TypeService | None = None
    frais: Frais | None = None
    thematiques: list[Thematique] = Field(default_factory=list)
    publics: list[Public] = Field(default_factory=list)
    modes_accueil: list[ModeAccueil] = Field(default_factory=list)
    modes_mobilisation: list[ModeMobilisation] = Field(default_factory=list)
    mobilisable_par: list[Mobilisable] = Field(default_factory=list)
    zone_eligibilite: list[str] = Field(default_factory=list)
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


class Structure(NamedTuple):
    """data·inclusion v1 Structure, read-only, as the running bot holds it (see StructureSchema).

    Extensions: categories, statut, verifie_le, verifie_par, notes_admin, exemple,
    zone_eligibilite/zones (for referents).
    """

    source: str
    id: str
    nom: str
    date_maj: dt.date
    categories: list[str]
    description: str | None = None
    lien_source: str | None = None
    siret: str | None = None
    commune: str | None = None
    code_postal: str | None = None
    code_insee: str | None = None
    adresse: str | None = None
    complement_adresse: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    telephone: str | None = None
    courriel: str | None = None
    site_web: str | None = None
    horaires_accueil: str | None = None
    accessibilite_lieu: str | None = None
    reseaux_porteurs: list[str] = []  # noqa: RUF012
    statut: Literal["actif", "suspendu", "ferme"] = "actif"
    verifie_le: dt.date | None = None
    verifie_par: str | None = None
    notes_admin: str | None = None
    exemple: bool = False
    zone_eligibilite: list[str] = []  # noqa: RUF012
    zones: list[str] = []  # noqa: RUF012

    @classmethod
    def model_validate(cls, data: Any) -> Structure:
        """Validate `data` as written in YAML (StructureSchema) and return the record."""
        return record_from(StructureSchema.model_validate(data), cls)


class Service(NamedTuple):
    """data·inclusion v1 Service, read-only, as the running bot holds it (see ServiceSchema).

    Extensions: categorie, zones, eligibilite, periode, mots_cles, langues_accueil,
    frequence_maj, exemple.
    """

    source: str
    structure_id: str
    id: str
    nom: str
    description: str
    date_maj: dt.date
    categorie: str
    statut: Literal["actif", "suspendu", "ferme"] = "actif"  # "ferme": gone upstream
    lien_source: str | None = None
    type: str | None = None
    thematiques: list[str] = []  # noqa: RUF012
    frais: str | None = None
    frais_precisions: str | None = None
    publics: list[str] = []  # noqa: RUF012
    publics_precisions: str | None = None
    conditions_acces: str | None = None
    commune: str | None = None
    code_postal: str | None = None
    code_insee: str | None = None
    adresse: str | None = None
    complement_adresse: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    telephone: str | None = None
    courriel: str | None = None
    modes_accueil: list[str] = []  # noqa: RUF012
    zone_eligibilite: list[str] = []  # noqa: RUF012
    contact_nom_prenom: str | None = None
    lien_mobilisation: str | None = None
    modes_mobilisation: list[str] = []  # noqa: RUF012
    mobilisable_par: list[str] = []  # noqa: RUF012
    mobilisation_precisions: str | None = None
    volume_horaire_hebdomadaire: float | None = None
    nombre_semaines: int | None = None
    horaires_accueil: str | None = None
    zones: list[str] = []  # noqa: RUF012
    eligibilite: Eligibilite | None = None
    periode: Periode | None = None
    mots_cles: list[str] = []  # noqa: RUF012
    langues_accueil: list[str] = []  # noqa: RUF012
    frequence_maj: Literal["1m", "3m", "6m", "12m"] | None = None
    exemple: bool = False

    @classmethod
    def model_validate(cls, data: Any) -> Service:
        """Validate `data` as written in YAML (ServiceSchema) and return the record."""
        return record_from(ServiceSchema.model_validate(data), cls)


Record = TypeVar("Record", Structure, Service)


def record_from(schema: BaseModel, record_type: type[Record]) -> Record:
    """The read-only record of a validated schema object."""
    values = [getattr(schema, name) for name in record_type._fields]
    return record_type._make(compact(record_type, values))


# --- keeping records small ------------------------------------------------------------------------
#
# 20,000 services hold hundreds of thousands of small values, most of them empty lists or the
# same few texts ("en-presentiel", a category id, a commune, a source…). Records share them: empty
# list fields are one read-only empty list, repeated texts are interned, equal dates and nested
# eligibility conditions are one object. Values and their meaning do not change.


class _ReadOnlyEmptyList(list[Any]):
    """An empty list that refuses to change, so that every record can share it."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("liste en lecture seule (read-only list)")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


EMPTY_LIST: Final[list[Any]] = _ReadOnlyEmptyList()
_SHARED_TEXTS: Final = frozenset(
    {"source", "commune", "code_postal", "code_insee", "type", "frais", "statut", "categorie",
     "frequence_maj"}
)  # fmt: skip
# A service's name and description are often its network's (« Chantier d'insertion »); a
# structure's name is its own. Parsed records turned out to share them (measured, not by our
# doing), records read back from the compiled cache did not: 20,200 services took 3.8 MB more.
_SHARED_SERVICE_TEXTS: Final = _SHARED_TEXTS | {"nom", "description"}
_SHARED: dict[Any, Any] = {}  # equal dates and nested models, one object each (a few thousand)


class SharingPlan(NamedTuple):
    lists: tuple[int, ...]
    texts: tuple[int, ...]
    dates: tuple[int, ...]
    models: tuple[int, ...]


def _plan(record_type: type[Any], shared_texts: frozenset[str]) -> SharingPlan:
    """Which fields of a record type hold what can be shared, by index."""
    fields: tuple[str, ...] = record_type._fields
    defaults = record_type._field_defaults

    def where(test: Callable[[str], bool]) -> tuple[int, ...]:
        return tuple(i for i, name in enumerate(fields) if test(name))

    return SharingPlan(
        lists=where(lambda f: f == "categories" or isinstance(defaults.get(f), list)),
        texts=where(lambda f: f in shared_texts),
        dates=where(lambda f: f in ("date_maj", "verifie_le")),
        models=where(lambda f: f in ("eligibilite", "periode")),
    )


_PLANS: Final = {
    Structure: _plan(Structure, _SHARED_TEXTS),
    Service: _plan(Service, _SHARED_SERVICE_TEXTS),
}


def sharing_plan(record_type: type[Any]) -> SharingPlan:
    """Which fields of `record_type` hold lists, shared texts, dates and nested models."""
    return _PLANS[record_type]


def compact(record_type: type[Any], values: list[Any], *, models: bool = True) -> list[Any]:
    """`values` (a record's, in field order) sharing what can be shared; changed in place.

    `models=False` when nested models are already shared (the cache's decoder shares them).
    """
    plan = _PLANS[record_type]
    intern = sys.intern
    for i in plan.lists:
        value = values[i]
        values[i] = [intern(v) if type(v) is str else v for v in value] if value else EMPTY_LIST
    for i in plan.texts:
        value = values[i]
        if value is not None:
            values[i] = intern(value)
    for i in plan.dates:
        value = values[i]
        if value is not None:
            values[i] = _SHARED.setdefault(value, value)
    for i in plan.models if models else ():
        value = values[i]
        if value is not None:
            values[i] = _SHARED.setdefault((type(value), value.model_dump_json()), value)
    return values


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
    reponse_courte_en: str | None = None
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
    synonymes_langues: dict[str, list[str]] = Field(default_factory=dict)
    # Our addition: the person has a job already (« je travaille », « en CDDI »): an employer
    # named with it is their situation, and a need other than a job comes first.
    en_emploi: bool = False


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
    # Our addition: domains whose pages count as official FAQ sources (subdomains included);
    # `aiguillage check` warns on a FAQ whose sources are all elsewhere.
    domaines_sources_fiables: list[TrustedDomain] = Field(default_factory=list)
