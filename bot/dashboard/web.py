"""The dashboard's aiohttp application: routes, the session guard, security headers.

Every page but the login needs a session; every POST carries the session's CSRF token; every
response carries a strict Content-Security-Policy (no script at all, styles from /static only),
`X-Frame-Options: DENY` and, on pages with data, `Cache-Control: no-store`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web

from bot.dashboard.context import HERE, SESSION, STATE, AppState, Dashboard, error_page, templates
from bot.dashboard.login import login, login_page, logout
from bot.dashboard.pages import (
    add_variant,
    callbacks_page,
    export_csv,
    figures_page,
    mark_handled,
    questions_page,
)
from bot.dashboard.sessions import SESSION_COOKIE, Sessions
from bot.dashboard.throttle import LoginThrottle

__all__ = ["Dashboard", "build_app"]

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/connexion"})


CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def build_app(dashboard: Dashboard) -> web.Application:
    settings = dashboard.settings
    state = AppState(
        dashboard=dashboard,
        sessions=Sessions(settings.session_minutes * 60, clock=dashboard.clock),
        throttle=LoginThrottle(
            settings.login_max_failures, settings.login_lockout_minutes * 60, clock=dashboard.clock
        ),
        templates=templates(),
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
            return error_page(
                request,
                403,
                "Ce formulaire n'est plus valable. Rechargez la page, puis recommencez.",
                "This form is no longer valid. Reload the page and try again.",
            )
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return error_page(request, 404, "Cette page n'existe pas.", "This page does not exist.")
    except web.HTTPMethodNotAllowed:
        return error_page(
            request,
            405,
            "Cette adresse ne s'ouvre pas ainsi : passez par les menus et les boutons.",
            "This address cannot be opened this way.",
        )
    except web.HTTPException:
        raise
    except Exception:
        log.exception("dashboard: %s %s failed", request.method, request.path)
        return error_page(
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
