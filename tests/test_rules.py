"""Unit tests of the declarative eligibility engine (bot.rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.kb.models import Rule, Zone
from bot.rules import Facts, RuleBook, RuleError, Verdict


@dataclass(frozen=True)
class FakeCommune:
    insee: str
    dept: str
    epci: str | None
    region: str | None


class FakePlaces:
    def __init__(self, *communes: FakeCommune) -> None:
        self.communes = {c.insee: c for c in communes}

    def __contains__(self, insee: object) -> bool:
        return insee in self.communes

    def get(self, insee: str) -> FakeCommune | None:
        return self.communes.get(insee)


PLACES = FakePlaces(
    FakeCommune("54395", "54", "245400676", "44"),  # Nancy
    FakeCommune("54135", "54", "200070746", "44"),  # Colombey-les-Belles
    FakeCommune("75056", "75", "200054781", "11"),  # Paris
)
NIVEAU2 = [
    {"fait": "statuts", "contient": "CAP_BEP"},
    {"fait": "age", "op": ">=", "valeur": 50},
    {"fait": "age", "op": "<", "valeur": 26},
    {"fait": "statuts", "contient": "ASE"},
]


def rule(rule_id: str, conditions: dict[str, Any], **extra: Any) -> Rule:
    return Rule.model_validate(
        {"id": rule_id, "libelle": rule_id, "conditions": conditions, "decide_par": "X", **extra}
    )


def zone(zone_id: str, zone_type: str, *codes: str) -> Zone:
    return Zone.model_validate({"id": zone_id, "nom": zone_id, "type": zone_type, "codes": codes})


def book(*rules: Rule, zones: tuple[Zone, ...] = ()) -> RuleBook:
    return RuleBook.compile(rules, zones, PLACES)


def verdict(conditions: dict[str, Any], facts: Facts, **extra: Any) -> Verdict:
    return book(rule("r", conditions, **extra)).evaluate("r", facts)


def issues(*rules: Rule, zones: tuple[Zone, ...] = ()) -> list[tuple[str, tuple[Any, ...], str]]:
    with pytest.raises(RuleError) as caught:
        book(*rules, zones=zones)
    return [(i.rule_id, i.path, i.message) for i in caught.value.issues]


# --- leaves -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "age", "expected"),
    [
        (">=", 16, 16, "eligible"),
        (">=", 16, 15, "a_verifier"),
        ("<=", 18, 18, "eligible"),
        ("<=", 18, 19, "a_verifier"),
        (">", 25, 25, "a_verifier"),
        ("<", 26, 25, "eligible"),
        ("==", 30, 30, "eligible"),
        ("!=", 30, 30, "a_verifier"),
    ],
)
def test_comparisons(op: str, value: int, age: int, expected: str) -> None:
    result = verdict({"fait": "age", "op": op, "valeur": value}, Facts(age=age))
    assert result.result == expected
    assert result.missing == ()


def test_contient_and_contient_un_de() -> None:
    known = Facts(statuts=frozenset({"RSA"}), statuts_connus=True)
    assert verdict({"fait": "statuts", "contient": "RSA"}, known).result == "eligible"
    assert verdict({"fait": "statuts", "contient": "ASS"}, known).result == "a_verifier"
    any_of = {"fait": "statuts", "contient_un_de": ["ASS", "RSA"]}
    assert verdict(any_of, known).result == "eligible"


def test_statuts_not_asked_are_unknown_unless_said() -> None:
    said = Facts(statuts=frozenset({"RSA"}))  # volunteered, the situation was not asked
    assert verdict({"fait": "statuts", "contient": "RSA"}, said).result == "eligible"
    unknown = verdict({"fait": "statuts", "contient": "ASS"}, said)
    assert unknown.result is None
    assert unknown.missing == ("statuts",)


def test_dans_for_months_and_communes() -> None:
    summer = {"fait": "mois_courant", "dans": [6, 7, 8]}
    assert verdict(summer, Facts(mois_courant=7)).result == "eligible"
    assert verdict(summer, Facts(mois_courant=1)).result == "a_verifier"
    assert verdict(summer, Facts()).result == "a_verifier"  # mois_courant is never asked
    codes = {"fait": "commune", "dans_codes": ["54395"]}
    assert verdict(codes, Facts(commune="54395")).result == "eligible"
    assert verdict(codes, Facts(commune="54135")).result == "a_verifier"


# --- zones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone_type", "codes", "inside", "outside"),
    [
        ("liste_communes", ("54135", "54395"), "54135", "75056"),
        ("commune", ("54395",), "54395", "54135"),
        ("epci", ("200070746",), "54135", "54395"),
        ("departement", ("54",), "54395", "75056"),
        ("region", ("44",), "54135", "75056"),
    ],
)
def test_dans_zone_for_every_zone_type(
    zone_type: str, codes: tuple[str, ...], inside: str, outside: str
) -> None:
    rules = book(
        rule("r", {"fait": "commune", "dans_zone": "z"}), zones=(zone("z", zone_type, *codes),)
    )
    assert rules.evaluate("r", Facts(commune=inside)).result == "eligible"
    assert rules.evaluate("r", Facts(commune=outside)).result == "a_verifier"
    assert rules.zones.contains("z", inside)


def test_pays_france_contains_every_known_commune() -> None:
    rules = book(
        rule("r", {"fait": "commune", "dans_zone": "fr"}), zones=(zone("fr", "pays", "france"),)
    )
    assert rules.evaluate("r", Facts(commune="75056")).result == "eligible"
    assert rules.evaluate("r", Facts(commune="99999")).result == "a_verifier"


def test_dans_zone_du_service() -> None:
    rules = book(
        rule("r", {"fait": "commune", "dans_zone_du_service": True}, si_faux="non_eligible")
    )
    in_colombey = {"54135"}.__contains__
    assert (
        rules.evaluate("r", Facts(commune="54135"), service_zone=in_colombey).result == "eligible"
    )
    outside = rules.evaluate("r", Facts(commune="54395"), service_zone=in_colombey)
    assert outside.result == "non_eligible"
    no_commune = rules.evaluate("r", Facts(), service_zone=in_colombey)
    assert (no_commune.result, no_commune.missing) == (None, ("commune",))
    no_service = rules.evaluate("r", Facts(commune="54135"))
    assert (no_service.result, no_service.missing) == ("a_verifier", ())


# --- three-valued logic -------------------------------------------------------------------------


def test_tous_is_false_if_any_false_even_with_unknowns() -> None:
    cond = {
        "tous": [{"fait": "age", "op": ">=", "valeur": 16}, {"fait": "statuts", "contient": "RSA"}]
    }
    result = verdict(cond, Facts(age=12), si_faux="non_eligible")
    assert (result.result, result.missing) == ("non_eligible", ())


def test_tous_is_unknown_if_any_unknown_and_none_false() -> None:
    cond = {
        "tous": [{"fait": "age", "op": ">=", "valeur": 16}, {"fait": "statuts", "contient": "RSA"}]
    }
    result = verdict(cond, Facts(age=20))
    assert (result.result, result.missing) == (None, ("statuts",))


def test_au_moins_un_is_true_if_any_true_even_with_unknowns() -> None:
    cond = {
        "au_moins_un": [
            {"fait": "age", "op": "<", "valeur": 26},
            {"fait": "statuts", "contient": "RSA"},
        ]
    }
    assert verdict(cond, Facts(age=20)).result == "eligible"
    assert verdict(cond, Facts(age=40)).missing == ("statuts",)


def test_non_keeps_unknown_unknown() -> None:
    cond = {"non": {"fait": "statuts", "contient": "SALARIE"}}
    assert verdict(cond, Facts(statuts=frozenset(), statuts_connus=True)).result == "eligible"
    assert verdict(cond, Facts(statuts=frozenset({"SALARIE"}))).result == "a_verifier"
    assert verdict(cond, Facts()).missing == ("statuts",)


@pytest.mark.parametrize(
    ("facts", "expected", "missing"),
    [
        (Facts(age=55, statuts=frozenset({"CAP_BEP"}), statuts_connus=True), "eligible", ()),
        (Facts(age=40, statuts=frozenset({"CAP_BEP"}), statuts_connus=True), "a_verifier", ()),
        (Facts(age=40, statuts=frozenset({"CAP_BEP"})), None, ("statuts",)),  # ASE unknown
        (Facts(age=40, statuts=frozenset(), statuts_connus=True), "a_verifier", ()),  # 0+0 < 2
        (Facts(statuts=frozenset({"CAP_BEP"}), statuts_connus=True), None, ("age",)),
        (Facts(), None, ("statuts", "age")),  # in asking order: the situation first
    ],
)
def test_au_moins_counts_true_and_unknown(
    facts: Facts, expected: str | None, missing: tuple[str, ...]
) -> None:
    result = verdict({"au_moins": 2, "parmi": NIVEAU2}, facts)
    assert (result.result, result.missing) == (expected, missing)


def test_missing_facts_follow_the_fixed_order_and_question_is_for_the_first() -> None:
    cond = {
        "tous": [
            {"fait": "commune", "dans_codes": ["54135"]},
            {"fait": "residence_depuis_mois", "op": ">=", "valeur": 6},
            {"fait": "sans_emploi_mois", "op": ">=", "valeur": 12},
            {"fait": "statuts", "contient": "DELD"},
            {"fait": "age", "op": ">=", "valeur": 18},
        ]
    }
    questions = {"sans_emploi_mois": "Depuis combien de temps ?", "commune": "Où habitez-vous ?"}
    result = verdict(cond, Facts(age=30), questions=questions)
    assert result.missing == ("statuts", "sans_emploi_mois", "residence_depuis_mois", "commune")
    assert result.question is None  # no question for statuts
    result = verdict(cond, Facts(age=30, statuts=frozenset({"DELD"})), questions=questions)
    assert result.question == "Depuis combien de temps ?"


def test_question_may_be_keyed_by_the_asked_fact() -> None:
    result = verdict(
        {"fait": "statuts", "contient": "RSA"}, Facts(), questions={"situation": "Q ?"}
    )
    assert result.question == "Q ?"


# --- results ------------------------------------------------------------------------------------


def test_verdict_carries_explanations_and_decider() -> None:
    cond = {"fait": "age", "op": ">=", "valeur": 16}
    texts = {"explication_si_vrai": "oui", "explication_si_faux": "non", "si_faux": "non_eligible"}
    yes = verdict(cond, Facts(age=16), **texts)
    no = verdict(cond, Facts(age=10), **texts)
    assert (yes.rule_id, yes.explanation, yes.decide_par) == ("r", "oui", "X")
    assert (no.result, no.explanation) == ("non_eligible", "non")


def test_si_inconnu_a_verifier_keeps_missing() -> None:
    result = verdict({"fait": "age", "op": ">=", "valeur": 16}, Facts(), si_inconnu="a_verifier")
    assert (result.result, result.missing) == ("a_verifier", ("age",))


def test_iae_is_never_non_eligible() -> None:
    rules = book(rule("r", {"fait": "statuts", "contient": "RSA"}, si_faux="non_eligible"))
    facts = Facts(statuts=frozenset(), statuts_connus=True)
    assert rules.evaluate("r", facts).result == "non_eligible"
    assert rules.evaluate("r", facts, is_iae=True).result == "a_verifier"


def test_regle_references_another_rule() -> None:
    niveau1 = rule(
        "niveau1", {"fait": "statuts", "contient_un_de": ["RSA", "ASS"]}, si_vrai="eligible"
    )
    ai = rule("ai", {"au_moins_un": [{"regle": "niveau1"}, {"au_moins": 2, "parmi": NIVEAU2}]})
    rules = book(niveau1, ai)
    assert rules.evaluate("ai", Facts(statuts=frozenset({"ASS"}))).result == "eligible"
    assert rules.evaluate("ai", Facts(age=20)).missing == ("statuts",)


def test_evaluate_conditions_inline() -> None:
    defaults = rule("defaults", {"fait": "age", "op": ">=", "valeur": 0}, si_faux="non_eligible")
    rules = book(defaults)
    inline = {"fait": "age", "op": "<=", "valeur": 25}
    result = rules.evaluate_conditions(inline, Facts(age=30), rule_defaults=defaults)
    assert result.result == "non_eligible"


# --- compile errors -----------------------------------------------------------------------------


def test_unknown_fact_with_suggestion_and_path() -> None:
    found = issues(
        rule(
            "r",
            {
                "tous": [
                    {"fait": "age", "op": ">", "valeur": 1},
                    {"fait": "agee", "op": ">", "valeur": 1},
                ]
            },
        )
    )
    assert found == [
        ("r", ("tous", 1, "fait"), "fait inconnu « agee » — vouliez-vous dire « age » ?")
    ]


def test_unknown_operator() -> None:
    found = issues(rule("r", {"fait": "statuts", "contien": "RSA"}))
    assert found == [
        ("r", ("contien",), "opérateur inconnu « contien » — vouliez-vous dire « contient » ?")
    ]
    found = issues(rule("r", {"tou": []}))
    assert found == [("r", ("tou",), "opérateur inconnu « tou » — vouliez-vous dire « tous » ?")]
    found = issues(rule("r", {"fait": "age", "op": "=>", "valeur": 3}))
    assert found[0][1] == ("op",)
    assert found[0][2].startswith("comparaison inconnue « => »")


def test_operator_not_valid_for_fact() -> None:
    found = issues(rule("r", {"fait": "age", "contient": "RSA"}))
    assert found[0][:2] == ("r", ("contient",))
    assert "impossible pour le fait « age »" in found[0][2]


def test_wrong_value_types() -> None:
    found = issues(
        rule("a", {"fait": "age", "op": ">=", "valeur": "seize"}),
        rule("b", {"fait": "mois_courant", "dans": [6, "juillet"]}),
        rule("c", {"au_moins": 0, "parmi": NIVEAU2}),
        rule("d", {"tous": {"fait": "age", "op": ">", "valeur": 1}}),
    )
    assert [(i[0], i[1]) for i in found] == [
        ("a", ("valeur",)),
        ("b", ("dans", 1)),
        ("c", ("au_moins",)),
        ("d", ("tous",)),
    ]
    assert found[0][2] == "un nombre entier est attendu, pas « seize »"


def test_unknown_statut_with_suggestion() -> None:
    found = issues(rule("r", {"fait": "statuts", "contient_un_de": ["RSA", "RQHT"]}))
    assert found == [
        ("r", ("contient_un_de", 1), "statut inconnu « RQHT » — vouliez-vous dire « RQTH » ?")
    ]


def test_unknown_zone_and_rule() -> None:
    found = issues(
        rule(
            "r",
            {
                "au_moins_un": [
                    {"fait": "commune", "dans_zone": "tzcld-colombei"},
                    {"regle": "niveau"},
                ]
            },
        ),
        rule("niveau1", {"fait": "age", "op": ">", "valeur": 1}),
        zones=(zone("tzcld-colombey", "liste_communes", "54135"),),
    )
    assert found == [
        (
            "r",
            ("au_moins_un", 0, "dans_zone"),
            "zone inconnue « tzcld-colombei » — vouliez-vous dire « tzcld-colombey » ?",
        ),
        (
            "r",
            ("au_moins_un", 1, "regle"),
            "règle inconnue « niveau » — vouliez-vous dire « niveau1 » ?",
        ),
    ]


def test_cycles_between_rules_are_refused() -> None:
    found = issues(
        rule("a", {"tous": [{"regle": "b"}]}),
        rule("b", {"non": {"regle": "c"}}),
        rule("c", {"regle": "a"}),
    )
    assert found == [
        ("a", ("tous", 0, "regle"), "références circulaires entre règles : a → b → c → a")
    ]


def test_question_for_unknown_fact_is_refused() -> None:
    with pytest.raises(RuleError) as caught:
        book(rule("r", {"fait": "age", "op": ">", "valeur": 1}, questions={"agee": "?"}))
    (issue,) = caught.value.issues
    assert (issue.field, issue.path) == ("questions", ("agee",))


def test_check_conditions_for_inline_service_conditions() -> None:
    rules = book(rule("r", {"fait": "age", "op": ">", "valeur": 1}))
    assert rules.check_conditions({"fait": "age", "op": ">", "valeur": 1}) == ()
    (issue,) = rules.check_conditions({"fait": "statuts", "contient": "XYZ"}, "svc")
    assert (issue.rule_id, issue.path) == ("svc", ("contient",))
