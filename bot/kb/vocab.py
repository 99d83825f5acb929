"""The fixed vocabularies of Aiguillage (public ids) and the data·inclusion v1 enumerations."""

from __future__ import annotations

from typing import Final

from data_inclusion.schema.v1 import (
    Frais,
    ModeAccueil,
    ModeMobilisation,
    PersonneMobilisatrice,
    Public,
    ReseauPorteur,
    Thematique,
    TypeService,
)

STRUCTURE_CATEGORIES: Final = (
    "aci", "ei", "ai", "etti", "eiti", "ea", "eatt", "cae", "cjs", "cjm",
    "cooperative_territoire", "garage_solidaire", "plateforme_mobilite",
    "auto_ecole_solidaire", "covoiturage_solidaire", "ebe_tzcld",
)  # fmt: skip
REFERENT_CATEGORIES: Final = (
    "france_travail", "mission_locale", "cap_emploi", "referent_rsa", "mdph", "ccas",
    "caf", "spip", "pij", "france_services",
)  # fmt: skip
CATEGORIES: Final = STRUCTURE_CATEGORIES + REFERENT_CATEGORIES
IAE_CATEGORIES: Final = frozenset({"aci", "ei", "ai", "etti", "eiti"})

NEEDS: Final = (
    "emploi_insertion", "emploi_handicap", "emploi_territoire", "creation_activite",
    "jeunes_cooperative", "mobilite_reparation", "mobilite_vehicule", "mobilite_permis",
    "mobilite_accompagnement", "mobilite_covoiturage", "information", "hors_perimetre", "urgence",
)  # fmt: skip
ROUTABLE_NEEDS: Final = NEEDS[:10]

FAQ_TOPICS: Final = (
    "faq_iae_definition", "faq_iae_eligibilite", "faq_pass_iae", "faq_prescripteur",
    "faq_difference_siae", "faq_cumul_rsa_salaire", "faq_rqth", "faq_ea_vs_esat",
    "faq_tzcld_conditions", "faq_cae_fonctionnement", "faq_cjs_fonctionnement",
    "faq_cjm_fonctionnement", "faq_garage_solidaire_conditions", "faq_auto_ecole_solidaire",
    "faq_aides_permis", "faq_plateforme_mobilite", "faq_covoiturage", "faq_documents_a_fournir",
    "faq_confidentialite", "faq_parler_humain",
)  # fmt: skip

ASKABLE_FACTS: Final = (
    "commune", "age", "situation", "duree_sans_emploi", "residence_depuis", "besoin",
    "confirmation_commune", "consentement",
)  # fmt: skip
ELIGIBILITY_RESULTS: Final = ("eligible", "a_verifier", "non_eligible")

# Situations (statuts), reusing les emplois de l'inclusion codes for the IAE criteria.
STATUTS: Final = (
    "RSA", "ASS", "AAH", "DETLD", "CAP_BEP", "SENIOR", "JEUNE", "ASE", "DELD", "TH", "PI",
    "PSH_PR", "REF_DA", "ZRR", "QPV", "DETENTION_MJ", "FLE", "PM", "RQTH", "BOETH",
    "DEMANDEUR_EMPLOI", "ETUDIANT", "LYCEEN", "SALARIE", "SALARIE_INSERTION", "SANS_VEHICULE",
    "SANS_PERMIS",
)  # fmt: skip

FAMILLES: Final = (
    "iae", "handicap", "entrepreneuriat", "jeunesse", "mobilite", "territoire", "orienteur",
)  # fmt: skip
ZONE_TYPES: Final = ("commune", "epci", "departement", "region", "pays", "liste_communes")
PRESCRIPTION: Final = ("non", "conseillee", "obligatoire")


def _values(enum: type) -> frozenset[str]:
    return frozenset(str(member.value) for member in enum)  # type: ignore[attr-defined]


DI_FRAIS: Final = _values(Frais)
DI_MODES_ACCUEIL: Final = _values(ModeAccueil)
DI_MODES_MOBILISATION: Final = _values(ModeMobilisation)
DI_MOBILISABLE_PAR: Final = _values(PersonneMobilisatrice)
DI_PUBLICS: Final = _values(Public)
DI_RESEAUX_PORTEURS: Final = _values(ReseauPorteur)
DI_THEMATIQUES: Final = _values(Thematique)
DI_TYPES: Final = _values(TypeService)
