"""Pydantic's validation errors, explained in plain French at their place in the YAML file.

Each error becomes a `Problem` located through the item's YAML document: what is wrong, with
the expected form ("une date AAAA-MM-JJ", "code postal à 5 chiffres") and, for an unknown field
or value, the closest known one ("vouliez-vous dire « frais » ?").
"""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Any, Final, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from bot.kb.checks import suggestion
from bot.kb.knowledge import Problem
from bot.kb.yamlpos import YamlDocument

# Human hints for the regular expressions of bot.kb.models.
_PATTERN_HINTS: Final = {
    "^[a-z0-9][a-z0-9_\\-]*$": "minuscules, chiffres, « - » et « _ » seulement",
    "^[a-z0-9][a-z0-9\\-]*--[A-Za-z0-9_\\-:.]+$": "de la forme « source--identifiant »",
    "^(\\d{5}|2[AB]\\d{3})$": "code INSEE à 5 caractères, par exemple « 54395 »",
    "^(\\d{2}|2[AB]|97\\d)$": "code de département, par exemple « 54 » ou « 2A »",
    "^https?://\\S+$": "adresse commençant par http:// ou https://",
    "^\\d{14}$": "SIRET à 14 chiffres",
    "^\\d{5}$": "code postal à 5 chiffres",
}
_FIELD_HINTS: Final = {
    "code_postal": "code postal à 5 chiffres, par exemple « 54000 »",
    "siret": "SIRET à 14 chiffres",
    "code_insee": "code INSEE à 5 caractères, par exemple « 54395 »",
}
_TYPE_NAMES: Final = {
    "string_type": "un texte",
    "int_type": "un nombre entier",
    "int_parsing": "un nombre entier",
    "int_from_float": "un nombre entier",
    "float_type": "un nombre",
    "float_parsing": "un nombre",
    "bool_type": "true ou false",
    "bool_parsing": "true ou false",
    "list_type": "une liste (une ligne « - valeur » par élément, ou [a, b])",
    "dict_type": "un dictionnaire (des lignes « clé: valeur »)",
    "model_type": "un dictionnaire (des lignes « clé: valeur »)",
    "model_attributes_type": "un dictionnaire (des lignes « clé: valeur »)",
    "date_type": "une date AAAA-MM-JJ",
    "date_parsing": "une date AAAA-MM-JJ",
    "date_from_datetime_parsing": "une date AAAA-MM-JJ",
    "date_from_datetime_inexact": "une date AAAA-MM-JJ (sans heure)",
}
_BOUNDS: Final = {
    "greater_than": ("gt", "supérieur à"),
    "greater_than_equal": ("ge", "supérieur ou égal à"),
    "less_than": ("lt", "inférieur à"),
    "less_than_equal": ("le", "inférieur ou égal à"),
}


def pydantic_problem(
    doc: YamlDocument, model: type[BaseModel], base: tuple[str | int, ...], error: ErrorDetails
) -> Problem:
    loc = tuple(error["loc"])
    field = next((x for x in reversed(loc) if isinstance(x, str)), str(base[0]))
    kind = error["type"]
    if kind == "extra_forbidden":
        fields = _fields_at(model, loc[:-1])
        return doc.problem(
            (*base, *loc), f"champ inconnu « {field} »{suggestion(field, fields)}", key=True
        )
    if kind == "missing":
        return doc.problem((*base, *loc), f"champ obligatoire manquant : {field}")
    return doc.problem((*base, *loc), _value_message(field, error))


def _value_message(field: str, error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    shown = _show(value)
    if kind == "value_error":
        if "reason" in ctx and str(error["msg"]).startswith("value is not a valid email"):
            return f"adresse e-mail invalide pour « {field} » : {shown}"
        return str(ctx.get("error", error["msg"]))
    if kind == "avertissement":
        return f"{error['msg']} (recommandation data·inclusion)"
    if kind in _TYPE_NAMES:
        return f"« {field} » : {_TYPE_NAMES[kind]} est attendu(e), pas {shown}"
    if kind == "literal_error":
        allowed = _literal_values(str(ctx.get("expected", "")))
        hint = suggestion(str(value), allowed)
        choices = ", ".join(allowed)
        return f"valeur « {value} » impossible pour « {field} »{hint} (possibles : {choices})"
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(ctx.get("pattern", "")), "format attendu non respecté")
        return f"format invalide pour « {field} » : {shown} ({hint})"
    if kind in ("too_short", "string_too_short"):
        unit = "élément(s)" if kind == "too_short" else "caractère(s)"
        hint = f" ({_FIELD_HINTS[field]})" if field in _FIELD_HINTS else ""
        return f"« {field} » : au moins {ctx.get('min_length')} {unit} attendu(s){hint}"
    if kind in ("too_long", "string_too_long"):
        unit = "élément(s)" if kind == "too_long" else "caractère(s)"
        hint = f", {_FIELD_HINTS[field]}" if field in _FIELD_HINTS else ""
        return (
            f"« {field} » : au plus {ctx.get('max_length')} {unit} ({_length(value)} "
            f"actuellement{hint})"
        )
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"« {field} » doit être {words} {bound}, pas {shown}"
    return f"valeur invalide pour « {field} » : {shown} ({error['msg']})"


def _show(value: object) -> str:
    if isinstance(value, (dict, list)):
        return "un dictionnaire" if isinstance(value, dict) else "une liste"
    if value is None:
        return "une valeur vide"
    text = str(value)
    return f"« {text[:60]}… »" if len(text) > 60 else f"« {text} »"


def _length(value: object) -> int:
    return len(value) if isinstance(value, (str, list, dict)) else 0


def _literal_values(expected: str) -> list[str]:
    values: list[str] = []
    for part in expected.replace(" or ", ", ").split(", "):
        part = part.strip()
        values.append(part[1:-1] if part[:1] == part[-1:] == "'" else part)
    return [v for v in values if v]


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the (nested) model at `loc`, for "did you mean" on unknown fields."""
    current: type[BaseModel] = model
    for element in loc:
        info = current.model_fields.get(element) if isinstance(element, str) else None
        if info is None:
            continue
        nested = _nested_model(info.annotation)
        if nested is None:
            return []
        current = nested
    return list(current.model_fields)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin is None:
        return None
    args = get_args(annotation)
    if origin in (Union, UnionType, list, tuple, set, frozenset) or str(origin).endswith(
        "Annotated"
    ):
        candidates = args
    elif origin is dict:
        candidates = args[1:]
    else:
        candidates = args[:1]
    return next((m for m in map(_nested_model, candidates) if m is not None), None)
