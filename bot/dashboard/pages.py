"""The pages, the two actions on unanswered questions, and the CSV exports."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from aiohttp import web

from bot.dashboard import charts
from bot.dashboard.context import STATE, flash, render, when
from bot.dashboard.csvexport import to_csv
from bot.dashboard.data import QuestionGroup
from bot.dashboard.faqedit import VariantRefused
from bot.dashboard.filters import (
    PERIODS,
    callback_state_param,
    describe,
    ids_param,
    parse_filters,
    query_string,
    question_state_param,
)
from bot.dashboard.labels import FaqEntry, Labels
from bot.dashboard.login import safe_next
from bot.dashboard.masking import masked
from bot.dashboard.tables import (
    CALLBACK_TABLES,
    FIGURE_TABLES,
    Table,
    callback_tables,
    figure_tables,
    question_state,
    question_table,
)

log = logging.getLogger(__name__)

QUESTIONS_SHOWN = 100  # the most frequent; the CSV export has them all


async def figures_page(request: web.Request) -> web.StreamResponse:
    dashboard = request.app[STATE].dashboard
    filters, problems = parse_filters(request.query, dashboard.today())
    labels = await _labels(request)
    figures = await dashboard.data.figures(filters)
    tables = figure_tables(figures, labels)
    day_fmt = "%d/%m"
    return render(
        request,
        "figures.html",
        page="chiffres",
        problems=problems,
        filters=filters,
        choices=await _filter_choices(request, labels),
        totals=figures.totals,
        tables=tables,
        query=query_string(filters),
        description=describe(filters, labels),
        computed=dt.datetime.fromtimestamp(figures.computed_at).strftime("%H:%M:%S"),
        charts={
            "jours": charts.column_chart(
                "Personnes par jour",
                [(d.day.strftime(day_fmt), d.personnes) for d in figures.days],
                "personnes",
            ),
            "besoins": charts.bar_chart(
                "Résultats montrés par besoin", tables["besoins"].column(2), "résultats"
            ),
            "categories": charts.bar_chart(
                "Résultats montrés par catégorie", tables["categories"].column(2), "résultats"
            ),
            "faq": charts.bar_chart(
                "Réponses par question fréquente", tables["faq"].column(2), "réponses"
            ),
            "departements": charts.bar_chart(
                "Personnes par département", tables["departements"].column(1), "personnes"
            ),
        },
    )


async def questions_page(request: web.Request) -> web.StreamResponse:
    dashboard = request.app[STATE].dashboard
    filters, problems = parse_filters(request.query, dashboard.today())
    etat = question_state_param(request.query.get("etat"))
    labels = await _labels(request)
    groups = await dashboard.data.questions(filters, etat)
    entries = sorted(labels.faq_entries, key=lambda e: (e.question.casefold(), e.file))
    return render(
        request,
        "questions.html",
        page="questions",
        problems=problems,
        filters=filters,
        etat=etat,
        choices=await _filter_choices(request, labels),
        query=query_string(filters, etat=etat),
        description=describe(filters, labels),
        total=len(groups),
        shown=min(len(groups), QUESTIONS_SHOWN),
        rows=[_question_row(g, labels, entries) for g in groups[:QUESTIONS_SHOWN]],
        faq_choices=[(e.choice, _faq_choice_label(e, entries)) for e in entries],
        retour=request.path_qs,
    )


async def callbacks_page(request: web.Request) -> web.StreamResponse:
    dashboard = request.app[STATE].dashboard
    filters, problems = parse_filters(request.query, dashboard.today())
    statut = callback_state_param(request.query.get("statut"))
    labels = await _labels(request)
    rows = await dashboard.data.callbacks(filters, statut)
    tables = callback_tables(rows, labels)
    return render(
        request,
        "rappels.html",
        page="rappels",
        problems=problems,
        filters=filters,
        statut=statut,
        choices=await _filter_choices(request, labels),
        query=query_string(filters, statut=statut),
        description=describe(filters, labels),
        tables=tables,
        chart=charts.bar_chart(
            "Demandes de rappel par département",
            tables["rappels-departements"].column(1),
            "demandes",
        ),
    )


async def mark_handled(request: web.Request) -> web.StreamResponse:
    dashboard = request.app[STATE].dashboard
    form = await request.post()
    ids = ids_param(str(form.get("ids", "")))
    back = safe_next(str(form.get("retour", "/questions")))
    count = await dashboard.data.mark_handled(ids, dashboard.clock())
    plural = "s" * (count > 1)
    if count:
        message = f"{count} question{plural} marquée{plural} traitée{plural}."
        flash(request, "ok", f"{message} / {count} question(s) marked handled.")
    else:
        flash(request, "erreur", "Rien à marquer : déjà traitées. / Already handled.")
    raise web.HTTPSeeOther(back)


async def add_variant(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    dashboard = state.dashboard
    form = await request.post()
    ids = ids_param(str(form.get("ids", "")))
    back = safe_next(str(form.get("retour", "/questions")))
    choice = str(form.get("faq", ""))
    text = str(form.get("texte", ""))
    labels = await _labels(request)
    entry = next((e for e in labels.faq_entries if e.choice == choice), None)
    if entry is None:
        flash(request, "erreur", "Choisissez une question fréquente dans la liste. / Pick a FAQ.")
        raise web.HTTPSeeOther(back)
    async with state.editing:
        try:
            added = await asyncio.to_thread(
                dashboard.editor.add_variant, entry, text, labels.faq_entries
            )
        except VariantRefused as refused:
            flash(request, "erreur", refused.message, refused.details)
            raise web.HTTPSeeOther(back) from None
    await dashboard.data.mark_handled(ids, dashboard.clock(), faq=entry.id)
    log.info("dashboard: FAQ variant added to %s in %s", entry.id, entry.file)
    flash(
        request,
        "ok",
        f"Variante « {added.variant} » ajoutée à la question fréquente « {entry.question} » "
        f"({added.file}). La vérification de la base est passée. Le bot s'en servira après "
        "« aiguillage reload » (ou dès le rechargement automatique). "
        "/ Variant added and the knowledge check passed; the bot uses it once reloaded.",
    )
    raise web.HTTPSeeOther(back)


async def export_csv(request: web.Request) -> web.StreamResponse:

    dashboard = request.app[STATE].dashboard
    name = request.match_info["name"]
    filters, _ = parse_filters(request.query, dashboard.today())
    labels = await _labels(request)
    table: Table | None = None
    if name in FIGURE_TABLES:
        table = figure_tables(await dashboard.data.figures(filters), labels)[name]
    elif name == "questions":
        etat = question_state_param(request.query.get("etat"))
        table = question_table(await dashboard.data.questions(filters, etat), labels)
    elif name in CALLBACK_TABLES:
        statut = callback_state_param(request.query.get("statut"))
        table = callback_tables(await dashboard.data.callbacks(filters, statut), labels)[name]
    if table is None:
        raise web.HTTPNotFound()
    period = filters.period
    filename = f"aiguillage-{name}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return web.Response(
        body=to_csv(table.header, table.rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _labels(request: web.Request) -> Labels:
    dashboard = request.app[STATE].dashboard
    labels = await asyncio.to_thread(dashboard.labels.current)
    codes = await dashboard.data.referral_codes()
    return labels.with_codes({code: label for code, (label, _) in codes.items()})


async def _filter_choices(request: web.Request, labels: Labels) -> dict[str, list[tuple[str, str]]]:
    data = request.app[STATE].dashboard.data
    depts = sorted(set(await data.departements_seen()) | set(labels.deployed))
    codes = sorted(set(await data.codes_seen()) | set(labels.codes))
    return {
        "periodes": [*PERIODS.items(), ("perso", "Période choisie (du … au …)")],
        "departements": [(d, labels.departement(d)) for d in depts],
        "codes": [(c, labels.code(c)) for c in codes],
    }


def _question_row(group: QuestionGroup, labels: Labels, entries: list[FaqEntry]) -> dict[str, Any]:
    best = group.best_match
    preferred = next((e.choice for e in entries if e.id == best and "/commun/" in e.file), None)
    preferred = preferred or next((e.choice for e in entries if e.id == best), "")
    infos = [f"dernière le {when(group.last_at)}"]
    if group.departements:
        infos.append(", ".join(labels.departement(d) for d in sorted(group.departements)))
    if best:
        infos.append(f"la plus proche : « {labels.faq_question(best)} »")
    infos.append(question_state(group, labels))
    return {
        "text": masked(group.text),
        "count": group.count,
        "ids": ",".join(str(i) for i in group.ids),
        "infos": infos,
        "preferred": preferred,
        "handled": group.handled,
    }


def _faq_choice_label(entry: FaqEntry, entries: list[FaqEntry]) -> str:
    same_id = [e for e in entries if e.id == entry.id]
    if len(same_id) > 1:
        return f"{entry.question} — {entry.file}"
    return entry.question
