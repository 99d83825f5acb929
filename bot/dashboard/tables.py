"""Every table the dashboard shows, built once from the figures and the labels.

The page and its CSV export read the same `Table`, so they always agree. Cells are plain values
(text or numbers); the page escapes them, the CSV export neutralises formulas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.dashboard.data import CallbackRow, Figures, QuestionGroup
from bot.dashboard.labels import PLATFORMS, STATUSES, Labels
from bot.dashboard.masking import masked

Cell = str | int | None


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # the CSV file's name: /export/<name>.csv
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def column(self, index: int) -> list[tuple[str, int]]:
        """(first column, column `index`) pairs, for a chart."""
        return [(str(row[0]), int(row[index] or 0)) for row in self.rows]


FIGURE_TABLES = ("chiffres", "jours", "besoins", "categories", "faq", "departements", "codes")
QUESTION_TABLES = ("questions",)
CALLBACK_TABLES = ("rappels", "rappels-departements", "rappels-codes")


def figure_tables(figures: Figures, labels: Labels) -> dict[str, Table]:
    t = figures.totals
    return {
        "chiffres": Table(
            "chiffres",
            "Chiffres de la période",
            ("Indicateur", "Valeur"),
            (
                ("Personnes", t.personnes),
                ("Conversations", t.conversations),
                ("Messages reçus", t.messages),
                ("Résultats montrés", t.resultats),
                ("Réponses aux questions fréquentes", t.reponses_faq),
                ("Demandes de rappel", t.rappels),
                ("Questions non comprises", t.non_compris),
                ("Urgences", t.urgences),
            ),
        ),
        "jours": Table(
            "jours",
            "Jour par jour",
            ("Jour", "Personnes", "Conversations", "Résultats montrés"),
            tuple(
                (d.day.isoformat(), d.personnes, d.conversations, d.resultats) for d in figures.days
            ),
        ),
        "besoins": Table(
            "besoins",
            "Besoins des personnes orientées",
            ("Besoin", "Personnes", "Résultats montrés"),
            tuple((labels.need(r.key), r.personnes, r.nombre) for r in figures.needs),
        ),
        "categories": Table(
            "categories",
            "Catégories des structures montrées",
            ("Catégorie", "Personnes", "Résultats montrés"),
            tuple((labels.category(r.key), r.personnes, r.nombre) for r in figures.categories),
        ),
        "faq": Table(
            "faq",
            "Questions fréquentes répondues",
            ("Question fréquente", "Personnes", "Réponses"),
            tuple((labels.faq_question(r.key), r.personnes, r.nombre) for r in figures.faq),
        ),
        "departements": Table(
            "departements",
            "Par département",
            (
                "Département",
                "Personnes",
                "Conversations",
                "Résultats montrés",
                "Réponses FAQ",
                "Demandes de rappel",
            ),
            tuple(
                (
                    labels.departement(r.departement),
                    r.personnes,
                    r.conversations,
                    r.resultats,
                    r.reponses_faq,
                    r.rappels,
                )
                for r in figures.departements
            ),
        ),
        "codes": Table(
            "codes",
            "Par code conseiller",
            (
                "Code conseiller",
                "Personnes venues par ce code",
                "Conversations",
                "Résultats montrés",
                "Demandes de rappel",
            ),
            tuple(
                (labels.code(r.code), r.personnes, r.conversations, r.resultats, r.rappels)
                for r in figures.codes
            ),
        ),
    }


def question_table(groups: Sequence[QuestionGroup], labels: Labels) -> Table:
    return Table(
        "questions",
        "Questions non comprises",
        (
            "Question (masquée)",
            "Fois",
            "Dernière fois",
            "Départements",
            "FAQ la plus proche",
            "État",
        ),
        tuple(
            (
                masked(g.text),
                g.count,
                when(g.last_at),
                ", ".join(labels.departement(d) for d in sorted(g.departements)),
                labels.faq_question(g.best_match) if g.best_match else "",
                question_state(g, labels),
            )
            for g in groups
        ),
    )


def question_state(group: QuestionGroup, labels: Labels) -> str:
    if not group.handled:
        return "À traiter"
    if group.handled_faq:
        return f"Ajoutée à la FAQ « {labels.faq_question(group.handled_faq)} »"
    return "Traitée"


def callback_tables(rows: Sequence[CallbackRow], labels: Labels) -> dict[str, Table]:
    by_dept: dict[str, list[int]] = {}
    by_code: dict[str, list[int]] = {}
    for r in rows:
        for key, target in ((r.departement or "", by_dept), (r.referral or "", by_code)):
            counts = target.setdefault(key, [0, 0])
            counts[0] += 1
            counts[1] += r.status == "nouveau"
    return {
        "rappels": Table(
            "rappels",
            "Demandes de rappel",
            (
                "N°",
                "Date",
                "Département",
                "Commune",
                "Besoin",
                "Code conseiller",
                "Plateforme",
                "Numéro laissé",
                "État",
            ),
            tuple(
                (
                    r.id,
                    when(r.at),
                    labels.departement(r.departement),
                    labels.commune(r.commune),
                    labels.need(r.need),
                    labels.code(r.referral),
                    PLATFORMS.get(r.platform, r.platform),
                    "oui" if r.phone_left else "non",
                    STATUSES.get(r.status, r.status),
                )
                for r in rows
            ),
        ),
        "rappels-departements": Table(
            "rappels-departements",
            "Demandes de rappel par département",
            ("Département", "Demandes", "Dont nouvelles"),
            tuple(
                (labels.departement(k or None), v[0], v[1])
                for k, v in sorted(by_dept.items(), key=lambda kv: -kv[1][0])
            ),
        ),
        "rappels-codes": Table(
            "rappels-codes",
            "Demandes de rappel par code conseiller",
            ("Code conseiller", "Demandes", "Dont nouvelles"),
            tuple(
                (labels.code(k or None), v[0], v[1])
                for k, v in sorted(by_code.items(), key=lambda kv: -kv[1][0])
            ),
        ),
    }


def when(timestamp: float) -> str:
    """Local date and time, as an admin reads it: 2026-12-01 14:03."""
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
