"""Logging in and out: the login form, the password check, the rate limit, the cookies."""

from __future__ import annotations

import asyncio
import logging
import math
import re

from aiohttp import web

from bot.dashboard.context import STATE, redirect, render, session_of
from bot.dashboard.passwords import verify_password
from bot.dashboard.sessions import LOGIN_COOKIE, SESSION_COOKIE, Flash

log = logging.getLogger(__name__)


async def login_page(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if state.sessions.find(request.cookies.get(SESSION_COOKIE)) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("suite")))
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
    suite = safe_next(str(form.get("suite", "")))
    nonce = request.cookies.get(LOGIN_COOKIE)
    token = form.get("jeton")
    if not state.sessions.login_token_ok(nonce, token if isinstance(token, str) else None):
        notice = Flash(
            "erreur",
            "Le formulaire a expiré. Recommencez. / The form expired, please try again.",
        )
        return _login_form(request, 403, notice, login_name, suite)
    client = request.remote or "?"
    wait = state.throttle.retry_after(client, login_name)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        notice = Flash(
            "erreur",
            f"Trop d'essais de connexion. Réessayez dans {minutes} minute{'s' * (minutes > 1)}. "
            f"/ Too many attempts: try again in {minutes} min.",
        )
        return _login_form(request, 429, notice, login_name, suite)
    stored = state.dashboard.admins.get(login_name)
    if not login_name or not await asyncio.to_thread(verify_password, stored, password):
        state.throttle.failed(client, login_name)
        log.info("dashboard: refused login")
        notice = Flash(
            "erreur",
            "Identifiant ou mot de passe incorrect. Vérifiez-les et réessayez. "
            "/ Wrong login or password.",
        )
        return _login_form(request, 401, notice, login_name, suite)
    state.throttle.succeeded(client, login_name)
    _, cookie = state.sessions.open(login_name)
    log.info("dashboard: admin logged in")
    response = redirect(suite)
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
    state.sessions.close(session_of(request))
    response = redirect("/connexion?deconnecte=1")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


def _login_form(
    request: web.Request,
    status: int,
    notice: Flash | None,
    login_name: str = "",
    suite: str | None = None,
) -> web.Response:
    state = request.app[STATE]
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{32}", nonce):
        nonce = state.sessions.login_nonce()
    response = render(
        request,
        "login.html",
        status=status,
        flashes=[notice] if notice else [],
        jeton=state.sessions.login_token(nonce),
        identifiant=login_name,
        suite=safe_next(suite if suite is not None else request.query.get("suite")),
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


def safe_next(value: str | None) -> str:
    """Only a path of this site, never another site ("//evil", "https://…")."""
    if value and _SAFE_NEXT.match(value) and not value.startswith("/connexion"):
        return value
    return "/"


_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\s]*$")
