"""The import report an admin reads: French first, then a short English summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from bot.data_inclusion.importer import Outcome
from bot.data_inclusion.previous import Key

_SHOWN = 10  # ids listed per line; the rest are counted

_SECTION_FR = {"structures": "structure", "services": "service", "orienteurs": "orienteur"}


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count <= 1 else plural or word + 's'}"


def _ids(keys: Iterable[Key]) -> str:
    return _listed([f"{key[1]} ({_SECTION_FR[key[0]]})" for key in keys])


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    rest = len(items) - _SHOWN
    return shown + (f" et {rest} autre(s)" if rest > 0 else "")


def _top(counter: Counter[str], limit: int = 8) -> str:
    return ", ".join(f"{name} {count}" for name, count in counter.most_common(limit))


def report_lines(outcome: Outcome, *, simulation: bool) -> list[str]:
    lines = [
        f"Import data·inclusion → {outcome.target}"
        + (" (SIMULATION : rien n'est écrit)" if simulation else ""),
        f"Source : {outcome.source}",
        f"Lu : {_n(outcome.read['structures'], 'structure')}, "
        f"{_n(outcome.read['services'], 'service')} ; retenus pour ce territoire : "
        f"{_n(outcome.kept['structures'], 'structure')}, "
        f"{_n(outcome.kept['services'], 'service')}.",
    ]
    written = len(outcome.added) + len(outcome.changed) + outcome.unchanged
    lines.append(
        f"Résultat : {len(outcome.added)} ajoutée(s), {len(outcome.changed)} modifiée(s) en amont, "
        f"{len(outcome.closed)} fermée(s) (retirées en amont), {outcome.unchanged} inchangée(s) "
        f"— {written + len(outcome.closed)} fiches importées au total."
    )
    if outcome.added:
        lines.append(f"  + ajoutées : {_ids(outcome.added)}")
    if outcome.changed:
        changed = [f"{k[1]} ({', '.join(fields)})" for k, fields in outcome.changed]
        lines.append(f"  ~ modifiées en amont : {_listed(changed)}")
    if outcome.closed:
        lines.append(f"  ✕ fermées (statut: ferme) : {_ids(outcome.closed)}")
    if outcome.resumed:
        lines.append(f"  ↺ reprises de data·inclusion (--reprendre) : {_ids(outcome.resumed)}")
    if outcome.kept_edited:
        lines.append(
            f"Modifiées à la main, laissées telles quelles : {len(outcome.kept_edited)} "
            "(pour reprendre la version de data·inclusion : --reprendre ID)"
        )
        lines += [f"  ✋ {k[1]} ({_SECTION_FR[k[0]]}) : {note}" for k, note in outcome.kept_edited]
    if outcome.kept_manual:
        lines.append(f"Ajoutées à la main dans ce fichier, gardées : {_ids(outcome.kept_manual)}")
    if outcome.deleted_by_admin:
        lines.append(
            f"Supprimées à la main, pas réimportées : {_ids(outcome.deleted_by_admin)} "
            "(--reprendre ID pour les faire revenir)"
        )
    if outcome.elsewhere:
        lines.append(
            "Déjà dans un autre fichier de la base, pas écrites ici : " + _listed(outcome.elsewhere)
        )
    if outcome.by_category:
        lines.append("Par catégorie : " + _top(outcome.by_category, 30))
    if outcome.unmapped:
        lines.append(
            f"Non reconnus : {_n(outcome.unmapped, 'service')} sans règle dans "
            "data_inclusion/correspondances.yaml (une fiche compte pour chacune de ses valeurs)"
        )
        lines.append("  par thématique : " + _top(outcome.unmapped_by_thematique))
        lines.append("  par réseau porteur de la structure : " + _top(outcome.unmapped_by_reseau))
    if outcome.referent_services:
        lines.append(
            f"Services d'orienteurs non importés (l'orienteur l'est) : {outcome.referent_services}"
        )
    if outcome.structures_without_service:
        lines.append(
            f"Structures sans service reconnu, non importées : {outcome.structures_without_service}"
        )
    if outcome.national_remote:
        lines.append(
            f"Services nationaux à distance (zone « france », sans lieu), non importés : "
            f"{outcome.national_remote}"
        )
    if outcome.filled_coordinates:
        lines.append(
            f"Sans coordonnées : {outcome.filled_coordinates} placée(s) au centre de leur "
            "commune (commentaire dans le fichier)"
        )
    if outcome.not_located:
        lines.append(
            "Sans lieu connu (ni coordonnées ni commune reconnue) : " + _listed(outcome.not_located)
        )
    if outcome.orphans:
        lines.append("Services sans leur structure, non importés : " + _listed(outcome.orphans))
    if outcome.notes:
        lines.append(f"Corrections ({len(outcome.notes)}) :")
        lines += [f"  - {note}" for note in outcome.notes[:_SHOWN]]
        if len(outcome.notes) > _SHOWN:
            lines.append(f"  … et {len(outcome.notes) - _SHOWN} autre(s)")
    if outcome.invalid:
        lines.append(f"Fiches invalides, ignorées ({len(outcome.invalid)}) :")
        lines += [f"  - {item}" for item in outcome.invalid[:_SHOWN]]
        if len(outcome.invalid) > _SHOWN:
            lines.append(f"  … et {len(outcome.invalid) - _SHOWN} autre(s)")
    if outcome.dropped_fields:
        lines.append(f"Champs invalides retirés ({len(outcome.dropped_fields)}) :")
        lines += [f"  - {item}" for item in outcome.dropped_fields[:_SHOWN]]
        if len(outcome.dropped_fields) > _SHOWN:
            lines.append(f"  … et {len(outcome.dropped_fields) - _SHOWN} autre(s)")
    lines.append(
        f"In English: {len(outcome.added)} added, {len(outcome.changed)} changed upstream, "
        f"{len(outcome.closed)} closed (gone upstream), {outcome.unchanged} unchanged, "
        f"{len(outcome.kept_edited)} edited by hand and left alone, {outcome.unmapped} services "
        f"not mapped, {len(outcome.invalid)} invalid records skipped."
    )
    return lines
