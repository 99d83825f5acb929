"""The dashboard's aiohttp application: routes, login, security headers, pages, CSV.

Every page but the login needs a session; every POST carries the session's CSRF token; every
response carries a strict Content-Security-Policy (no script at all, styles from /static only),
`X-Frame-Options: DENY` and, on pages with data, `Cache-Control: no-store`. Templates are
Jinja2 with autoescaping on: question texts typed by beneficiaries are shown escaped and masked.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.dashboard import charts
from bot.dashboard.data import (
    CallbackState,
    DashboardData,
    Filters,
    Period,
    QuestionGroup,
    QuestionState,
)
from bot.dashboard.faqedit import FaqEditor, VariantRefused
from bot.dashboard.labels import FaqEntry, Labels, LabelSource
from bot.dashboard.masking import masked
from bot.dashboard.passwords import verify_password
from bot.dashboard.sessions import LOGIN_COOKIE, SESSION_COOKIE, Flash, Session, Sessions
from bot.dashboard.settings import DashboardSettings
from bot.dashboard.tables import (
    CALLBACK_TABLES,
    FIGURE_TABLES,
    Table,
    callback_tables,
    figure_tables,
    question_state,
    question_table,
)
from bot.dashboard.throttle import LoginThrottle

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PUBLIC_PATHS = frozenset({"/connexion"})
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PERIODS = {"7": "7 derniers jours", "30": "30 derniers jours", "90": "90 derniers jours"}
MAX_CUSTOM_DAYS = 3 * 366
QUESTIONS_SHOWN = 100  # the most frequent; the CSV export has them all
_DEPT = re.compile(r"^(\d{2}|2[AB]|97\d)$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\s]*$")


def _utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the application needs, built by the caller (the CLI or a test)."""

    data: DashboardData
    admins: Mapping[str, str]  # login → Argon2id hash
    labels: LabelSource
    editor: FaqEditor
    settings: DashboardSettings = field(default_factory=DashboardSettings)
    today: Callable[[], dt.date] = _utc_today
    clock: Callable[[], float] = time.time


@dataclass(slots=True)
class _State:
    dashboard: Dashboard
    sessions: Sessions
    throttle: LoginThrottle
    templates: Environment
    editing: asyncio.Lock


STATE = web.AppKey("state", _State)
SESSION = web.RequestKey("session", Session)


def build_app(dashboard: Dashboard) -> web.Application:
    settings = dashboard.settings
    state = _State(
        dashboard=dashboard,
        sessions=Sessions(settings.session_minutes * 60, clock=dashboard.clock),
        throttle=LoginThrottle(
            settings.login_max_failures, settings.login_lockout_minutes * 60, clock=dashboard.clock
        ),
        templates=_templates(),
        editing=asyncio.Lock(),
    )
    app = web.Application(middlewares=[_guard], client_max_size=256 * 1024)
    app[STATE] = state
    app.on_response_prepare.append(_security_headers)
    app.add_routes(
        [
            web.get("/connexion", login_page),
            web.post("/connexion", login),
            web.post("/deconnexion", logout),
            web.get("/", figures_page),
            web.get("/questions", questions_page),
            web.post("/questions/traiter", mark_handled),
            web.post("/questions/variante", add_variant),
            web.get("/rappels", callbacks_page),
            web.get("/export/{name}.csv", export_csv),
            web.static("/static", HERE / "static", name="static", append_version=True),
        ]
    )
    return app


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nombre"] = lambda value: charts.number(int(value or 0))
    env.filters["jour"] = lambda day: day.strftime("%d/%m/%Y")
    return env


# --- middleware and headers -------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A session for every page but the login; the CSRF token on every POST."""
    state = request.app[STATE]
    if request.path in PUBLIC_PATHS or request.path.startswith("/static/"):
        return await handler(request)
    session = state.sessions.find(request.cookies.get(SESSION_COOKIE))
    if session is None:
        target = "/connexion"
        if request.method == "GET" and request.path != "/":
            target += "?" + urlencode({"suite": request.path_qs})
        elif request.method != "GET":
            target += "?expiree=1"
        raise web.HTTPSeeOther(target)
    request[SESSION] = session
    if request.method == "POST":
        form = await request.post()
        token = form.get("csrf")
        if not session.csrf_ok(token if isinstance(token, str) else None):
            return _error_page(
                request,
                403,
                "Ce formulaire n'est plus valable. Rechargez la page, puis recommencez.",
                "This form is no longer valid. Reload the page and try again.",
            )
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _error_page(request, 404, "Cette page n'existe pas.", "This page does not exist.")
    except web.HTTPMethodNotAllowed:
        return _error_page(
            request,
            405,
            "Cette adresse ne s'ouvre pas ainsi : passez par les menus et les boutons.",
            "This address cannot be opened this way.",
        )
    except web.HTTPException:
        raise
    except Exception:
        log.exception("dashboard: %s %s failed", request.method, request.path)
        return _error_page(
            request,
            500,
            "Une erreur est survenue. Rechargez la page dans un instant ; si cela recommence, "
            "transmettez le journal du tableau de bord à l'équipe projet.",
            "Something went wrong. Reload the page in a moment.",
        )


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"


# --- login ------------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if state.sessions.find(request.cookies.get(SESSION_COOKIE)) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("suite")))
    notice = None
    if request.query.get("expiree"):
        notice = Flash("erreur", "Votre session a expiré : reconnectez-vous. / Session expired.")
    elif request.query.get("deconnecte"):
        notice = Flash("ok", "Vous êtes déconnecté. / You are logged out.")
    return _login_form(request, 200, notice)


async def login(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    login_name = str(form.get("identifiant", "")).strip()[:64]
    password = str(form.get("mot_de_passe", ""))[:1024]
    suite = _safe_next(str(form.get("suite", "")))
    nonce = request.cookies.get(LOGIN_COOKIE)
    token = form.get("jeton")
    if not state.sessions.login_token_ok(nonce, token if isinstance(token, str) else None):
        notice = Flash(
            "erreur",
            "Le formulaire a expiré. Recommencez. / The form expired, please try again.",
        )
        return _login_form(request, 403, notice, login_name)
    client = request.remote or "?"
    wait = state.throttle.retry_after(client, login_name)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        notice = Flash(
            "erreur",
            f"Trop d'essais de connexion. Réessayez dans {minutes} minute{'s' * (minutes > 1)}. "
            f"/ Too many attempts: try again in {minutes} min.",
        )
        return _login_form(request, 429, notice, login_name)
    stored = state.dashboard.admins.get(login_name)
    if not login_name or not await asyncio.to_thread(verify_password, stored, password):
        state.throttle.failed(client, login_name)
        log.info("dashboard: refused login")
        notice = Flash(
            "erreur",
            "Identifiant ou mot de passe incorrect. Vérifiez-les et réessayez. "
            "/ Wrong login or password.",
        )
        return _login_form(request, 401, notice, login_name)
    state.throttle.succeeded(client, login_name)
    _, cookie = state.sessions.open(login_name)
    log.info("dashboard: admin logged in")
    response = _redirect(suite)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(state.sessions.lifetime_s),
        httponly=True,
        samesite="Strict",
        secure=state.dashboard.settings.secure_cookies,
        path="/",
    )
    response.del_cookie(LOGIN_COOKIE, path="/connexion")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.sessions.close(_session(request))
    response = _redirect("/connexion?deconnecte=1")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _login_form(
    request: web.Request, status: int, notice: Flash | None, login_name: str = ""
) -> web.Response:
    state = request.app[STATE]
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{32}", nonce):
        nonce = state.sessions.login_nonce()
    response = _render(
        request,
        "login.html",
        status=status,
        flashes=[notice] if notice else [],
        jeton=state.sessions.login_token(nonce),
        identifiant=login_name,
        suite=_safe_next(request.query.get("suite") or ""),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="Strict",
        secure=state.dashboard.settings.secure_cookies,
        path="/connexion",
    )
    return response


def _safe_next(value: str | None) -> str:
    """Only a path of this site, never another site ("//evil", "https://…")."""
    if value and _SAFE_NEXT.match(value) and not value.startswith("/connexion"):
        return value
    return "/"


# --- pages ------------------------------------------------------------------------------------


async def figures_page(request: web.Request) -> web.StreamResponse:
    dashboard = request.app[STATE].dashboard
    filters, problems = parse_filters(request.query, dashboard.today())
    labels = await _labels(request)
    figures = await dashboard.data.figures(filters)
    tables = figure_tables(figures, labels)
    day_fmt = "%d/%m"
    return _render(
        request,
        "figures.html",
        page="chiffres",
        problems=problems,
        filters=filters,
        choices=await _filter_choices(request, labels),
        totals=figures.totals,
        tables=tables,
        query=_query(filters),
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
    etat = _question_state(request.query.get("etat"))
    labels = await _labels(request)
    groups = await dashboard.data.questions(filters, etat)
    entries = sorted(labels.faq_entries, key=lambda e: (e.question.casefold(), e.file))
    return _render(
        request,
        "questions.html",
        page="questions",
        problems=problems,
        filters=filters,
        etat=etat,
        choices=await _filter_choices(request, labels),
        query=_query(filters, etat=etat),
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
    statut = _callback_state(request.query.get("statut"))
    labels = await _labels(request)
    rows = await dashboard.data.callbacks(filters, statut)
    tables = callback_tables(rows, labels)
    return _render(
        request,
        "rappels.html",
        page="rappels",
        problems=problems,
        filters=filters,
        statut=statut,
        choices=await _filter_choices(request, labels),
        query=_query(filters, statut=statut),
        description=describe(filters, labels),
        tables=tables,
        chart=charts.bar_chart(
            "Demandes de rappel par département",
            tables["rappels-departements"].column(1),
            "demandes",
        ),
    )


# --- actions ----------------------------------------------------------------------------------


async def mark_handled(request: web.Request) -> web.StreamResponse:
    dashboard = request.app[STATE].dashboard
    form = await request.post()
    ids = _ids(str(form.get("ids", "")))
    back = _safe_next(str(form.get("retour", "/questions")))
    count = await dashboard.data.mark_handled(ids, dashboard.clock())
    plural = "s" * (count > 1)
    if count:
        message = f"{count} question{plural} marquée{plural} traitée{plural}."
        _flash(request, "ok", f"{message} / {count} question(s) marked handled.")
    else:
        _flash(request, "erreur", "Rien à marquer : déjà traitées. / Already handled.")
    raise web.HTTPSeeOther(back)


async def add_variant(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    dashboard = state.dashboard
    form = await request.post()
    ids = _ids(str(form.get("ids", "")))
    back = _safe_next(str(form.get("retour", "/questions")))
    choice = str(form.get("faq", ""))
    text = str(form.get("texte", ""))
    labels = await _labels(request)
    entry = next((e for e in labels.faq_entries if e.choice == choice), None)
    if entry is None:
        _flash(request, "erreur", "Choisissez une question fréquente dans la liste. / Pick a FAQ.")
        raise web.HTTPSeeOther(back)
    async with state.editing:
        try:
            added = await asyncio.to_thread(
                dashboard.editor.add_variant, entry, text, labels.faq_entries
            )
        except VariantRefused as refused:
            _flash(request, "erreur", refused.message, refused.details)
            raise web.HTTPSeeOther(back) from None
    await dashboard.data.mark_handled(ids, dashboard.clock(), faq=entry.id)
    log.info("dashboard: FAQ variant added to %s in %s", entry.id, entry.file)
    _flash(
        request,
        "ok",
        f"Variante « {added.variant} » ajoutée à la question fréquente « {entry.question} » "
        f"({added.file}). La vérification de la base est passée. Le bot s'en servira après "
        "« aiguillage reload » (ou dès le rechargement automatique). "
        "/ Variant added and the knowledge check passed; the bot uses it once reloaded.",
    )
    raise web.HTTPSeeOther(back)


async def export_csv(request: web.Request) -> web.StreamResponse:
    from bot.dashboard.csvexport import to_csv

    dashboard = request.app[STATE].dashboard
    name = request.match_info["name"]
    filters, _ = parse_filters(request.query, dashboard.today())
    labels = await _labels(request)
    table: Table | None = None
    if name in FIGURE_TABLES:
        table = figure_tables(await dashboard.data.figures(filters), labels)[name]
    elif name == "questions":
        etat = _question_state(request.query.get("etat"))
        table = question_table(await dashboard.data.questions(filters, etat), labels)
    elif name in CALLBACK_TABLES:
        statut = _callback_state(request.query.get("statut"))
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


# --- request parsing --------------------------------------------------------------------------


def parse_filters(query: Mapping[str, str], today: dt.date) -> tuple[Filters, list[str]]:
    """The period, département and code asked for; problems are explained, never fatal."""
    problems: list[str] = []
    preset = query.get("periode") or "30"
    start_text, end_text = (query.get("du") or "").strip(), (query.get("au") or "").strip()
    period = Period.last(30, today)
    if preset in PERIODS:
        period = Period.last(int(preset), today)
    elif preset == "perso" or start_text or end_text:
        start, end = _date(start_text), _date(end_text)
        if start is None or end is None:
            problems.append(
                "Période personnalisée : donnez deux dates (du … au …) au format JJ/MM/AAAA. "
                "Les 30 derniers jours sont affichés. / Custom period: give two valid dates."
            )
        elif end < start:
            problems.append(
                "Période personnalisée : la date de fin est avant la date de début. "
                "Les 30 derniers jours sont affichés. / The end date is before the start date."
            )
        elif (end - start).days + 1 > MAX_CUSTOM_DAYS:
            problems.append(
                "Période personnalisée : trois ans au plus. Les 30 derniers jours sont affichés. "
                "/ At most three years."
            )
        else:
            period = Period(start, end, "perso")
    else:
        problems.append(f"Période inconnue. {PERIODS['30'].capitalize()} sont affichés.")
    departement = (query.get("departement") or "").strip().upper() or None
    if departement and not _DEPT.match(departement):
        problems.append(
            "Ce département n'existe pas (exemples : 54, 2A, 974). Tous sont affichés. "
            "/ Unknown département."
        )
        departement = None
    code = (query.get("code") or "").strip() or None
    if code and not _CODE.match(code):
        problems.append(
            "Ce code conseiller n'est pas valable (lettres, chiffres, - et _). Tous sont "
            "affichés. / Invalid counsellor code."
        )
        code = None
    return Filters(period, departement, code), problems


def _date(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _question_state(value: str | None) -> QuestionState:
    if value == "traitees":
        return "traitees"
    if value == "toutes":
        return "toutes"
    return "a_traiter"


def _callback_state(value: str | None) -> CallbackState:
    if value == "nouveau":
        return "nouveau"
    if value == "traite":
        return "traite"
    return "tous"


def _ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",")[:100_000] if part.strip().isdigit()]


def _query(filters: Filters, **extra: str) -> str:
    period = filters.period
    values: dict[str, str] = {"periode": period.preset}
    if period.preset == "perso":
        values["du"], values["au"] = period.start.isoformat(), period.end.isoformat()
    if filters.departement:
        values["departement"] = filters.departement
    if filters.code:
        values["code"] = filters.code
    values.update(extra)
    return urlencode(values)


def describe(filters: Filters, labels: Labels) -> str:
    period = filters.period
    if period.preset in PERIODS:
        span = f"du {period.start:%d/%m/%Y} au {period.end:%d/%m/%Y}"
        text = f"{PERIODS[period.preset].capitalize()} ({span})"
    else:
        text = f"Du {period.start:%d/%m/%Y} au {period.end:%d/%m/%Y}"
    text += " · " + (
        labels.departement(filters.departement) if filters.departement else "tous les départements"
    )
    text += " · " + (labels.code(filters.code) if filters.code else "tous les codes conseillers")
    return text


# --- helpers ----------------------------------------------------------------------------------


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
    infos = [f"dernière le {_when(group.last_at)}"]
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


def _session(request: web.Request) -> Session:
    return request[SESSION]


def _redirect(location: str) -> web.Response:
    """A 303 "see other" to a page of this site, as a response (cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": location})


def _flash(request: web.Request, kind: str, text: str, details: str = "") -> None:
    _session(request).flashes.append(Flash(kind, text, details))


def _render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    state = request.app[STATE]
    session = request.get(SESSION)
    if session is not None:
        context.setdefault("flashes", session.pop_flashes())
        context.setdefault("login", session.login)
        context.setdefault("csrf", session.csrf)
    context.setdefault("flashes", [])
    context.setdefault("login", None)
    context.setdefault("csrf", "")
    context.setdefault("page", "")
    context["static"] = _static_url(request)
    context["when"] = _when
    html = state.templates.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _static_url(request: web.Request) -> Callable[[str], str]:
    resource = request.app.router["static"]

    def url(name: str) -> str:
        return str(resource.url_for(filename=name))

    return url


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%d/%m/%Y %H:%M")


def _error_page(request: web.Request, status: int, french: str, english: str) -> web.Response:
    return _render(request, "error.html", status=status, french=french, english=english)
