"""What every dashboard handler shares: the dependencies, the app state, and rendering.

Templates are Jinja2 with autoescaping on: question texts typed by beneficiaries are always shown
escaped (and masked by the caller).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.dashboard import charts
from bot.dashboard.data import DashboardData
from bot.dashboard.faqedit import FaqEditor
from bot.dashboard.labels import LabelSource
from bot.dashboard.sessions import Flash, Session, Sessions
from bot.dashboard.settings import DashboardSettings
from bot.dashboard.throttle import LoginThrottle

HERE = Path(__file__).parent


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the application needs, built by the caller (the CLI or a test)."""

    data: DashboardData
    admins: Mapping[str, str]  # login → Argon2id hash
    labels: LabelSource
    editor: FaqEditor
    settings: DashboardSettings = field(default_factory=DashboardSettings)
    today: Callable[[], dt.date] = utc_today
    clock: Callable[[], float] = time.time


@dataclass(slots=True)
class AppState:
    dashboard: Dashboard
    sessions: Sessions
    throttle: LoginThrottle
    templates: Environment
    editing: asyncio.Lock


STATE = web.AppKey("state", AppState)


SESSION = web.RequestKey("session", Session)


def templates() -> Environment:
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


def session_of(request: web.Request) -> Session:
    return request[SESSION]


def redirect(location: str) -> web.Response:
    """A 303 "see other" to a page of this site, as a response (cookies can be set on it)."""
    return web.Response(status=303, headers={"Location": location})


def flash(request: web.Request, kind: str, text: str, details: str = "") -> None:
    session_of(request).flashes.append(Flash(kind, text, details))


def render(
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
    context["static"] = static_url(request)
    context["when"] = when
    html = state.templates.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def static_url(request: web.Request) -> Callable[[str], str]:
    resource = request.app.router["static"]

    def url(name: str) -> str:
        return str(resource.url_for(filename=name))

    return url


def when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%d/%m/%Y %H:%M")


def error_page(request: web.Request, status: int, french: str, english: str) -> web.Response:
    return render(request, "error.html", status=status, french=french, english=english)
