"""The dashboard's door: login, wrong passwords, rate limit, sessions, CSRF, headers."""

from __future__ import annotations

from html import unescape
from pathlib import Path

from bot.dashboard.settings import DashboardSettings
from bot.places import Gazetteer
from tests.dashboard_helpers import (
    LOGIN,
    hidden,
    known_db,
    password_hash,
    running_dashboard,
)

__all__ = ["known_db", "password_hash"]  # fixtures


async def test_an_admin_logs_in_and_lands_on_the_figures(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        status, _ = await admin.page("/")
        assert status == 303  # no session: sent to the login page
        status, _ = await admin.login()
        assert status == 303
        status, html = await admin.page("/")
        assert status == 200
        assert "Chiffres" in html and LOGIN in html


async def test_the_session_cookie_is_signed_httponly_strict_and_expires(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    settings = DashboardSettings(session_minutes=30)
    async with running_dashboard(known_db, password_hash, gazetteer, settings=settings) as admin:
        page = await admin.client.get("/connexion")
        response = await admin.client.post(
            "/connexion",
            data={
                "identifiant": LOGIN,
                "mot_de_passe": "un mot de passe bien long",
                "jeton": hidden(await page.text(), "jeton"),
            },
            allow_redirects=False,
        )
        cookie = response.cookies["aiguillage_session"]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["max-age"] == "1800"
        assert cookie.value.count(".") == 1  # id.signature
        # An altered signature is not a session.
        forged = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")
        admin.client.session.cookie_jar.clear()
        admin.client.session.cookie_jar.update_cookies({"aiguillage_session": forged})
        assert (await admin.page("/"))[0] == 303
        admin.client.session.cookie_jar.clear()
        admin.client.session.cookie_jar.update_cookies({"aiguillage_session": cookie.value})
        assert (await admin.page("/"))[0] == 200
        admin.clock.now += 31 * 60  # past the session's lifetime
        status, _ = await admin.page("/")
        assert status == 303


async def test_a_wrong_password_is_refused_with_a_clear_french_message(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        status, html = await admin.login(password="pas le bon mot de passe")
        assert status == 401
        assert "Identifiant ou mot de passe incorrect" in html
        assert (await admin.page("/"))[0] == 303
        # An unknown login gets exactly the same answer (no way to guess who is an admin).
        status, other = await admin.login(login="inconnu")
        assert status == 401 and "Identifiant ou mot de passe incorrect" in other


async def test_too_many_wrong_passwords_wait_before_the_next_try(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    settings = DashboardSettings(login_max_failures=3, login_lockout_minutes=10)
    async with running_dashboard(known_db, password_hash, gazetteer, settings=settings) as admin:
        for _ in range(3):
            assert (await admin.login(password="mauvais mot de passe"))[0] == 401
        status, html = await admin.login()  # even the right password waits
        assert status == 429
        assert "Trop d'essais de connexion. Réessayez dans 10 minutes." in unescape(html)
        admin.clock.now += 10 * 60 + 1
        assert (await admin.login())[0] == 303


async def test_a_login_form_without_its_token_is_refused(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        response = await admin.client.post(
            "/connexion",
            data={"identifiant": LOGIN, "mot_de_passe": "un mot de passe bien long"},
            allow_redirects=False,
        )
        assert response.status == 403
        assert "Le formulaire a expiré" in await response.text()


async def test_a_post_without_the_session_csrf_token_is_refused(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await admin.login()
        _, html = await admin.page("/questions")
        ids = hidden(html, "ids")
        for data in ({"ids": ids}, {"ids": ids, "csrf": "faux-jeton"}):
            response = await admin.client.post("/questions/traiter", data=data)
            assert response.status == 403
            assert "Ce formulaire n'est plus valable" in unescape(await response.text())
        _, still = await admin.page("/questions")
        assert "Marquer traitée" in still  # nothing was marked
        response = await admin.client.post("/deconnexion", data={})
        assert response.status == 403  # logging out needs the token too


async def test_logging_out_ends_the_session(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await admin.login()
        _, html = await admin.page("/")
        response = await admin.client.post("/deconnexion", data={"csrf": hidden(html, "csrf")})
        assert "Vous êtes déconnecté" in await response.text()
        assert (await admin.page("/"))[0] == 303


async def test_every_page_needs_a_session_and_the_login_sends_back_there(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        for path in ("/", "/questions", "/rappels", "/export/questions.csv", "/nulle-part"):
            response = await admin.client.get(path, allow_redirects=False)
            assert response.status == 303, path
            assert response.headers["Location"].startswith("/connexion")
        response = await admin.client.post("/questions/traiter", allow_redirects=False)
        assert response.status == 303
        # After logging in, the admin lands where they were going, never on another site.
        page = await admin.client.get("/connexion?suite=/rappels")
        html = await page.text()
        response = await admin.client.post(
            "/connexion",
            data={
                "identifiant": LOGIN,
                "mot_de_passe": "un mot de passe bien long",
                "jeton": hidden(html, "jeton"),
                "suite": hidden(html, "suite"),
            },
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/rappels"
        # A wrong password on the way keeps where the admin was going.
        _, html = await admin.page("/")
        await admin.client.post("/deconnexion", data={"csrf": hidden(html, "csrf")})
        page = await admin.client.get("/connexion?suite=/questions")
        html = await page.text()
        refused = await admin.client.post(
            "/connexion",
            data={
                "identifiant": LOGIN,
                "mot_de_passe": "pas le bon",
                "jeton": hidden(html, "jeton"),
                "suite": hidden(html, "suite"),
            },
        )
        assert 'name="suite" value="/questions"' in await refused.text()
        page = await admin.client.get("/connexion?suite=//evil.example/x")
        assert 'name="suite" value="/"' in await page.text()


async def test_pages_carry_strict_security_headers(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        login_page = await admin.client.get("/connexion")
        await admin.login()
        pages = [login_page, await admin.client.get("/"), await admin.client.get("/export/faq.csv")]
        for response in pages:
            headers = response.headers
            csp = headers["Content-Security-Policy"]
            assert "default-src 'none'" in csp and "script-src" not in csp
            assert "frame-ancestors 'none'" in csp
            assert headers["X-Frame-Options"] == "DENY"
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Cache-Control"] == "no-store"
        html = await (await admin.client.get("/")).text()
        assert "<script" not in html and "style=" not in html
        status, missing = await admin.page("/nulle-part")
        assert status == 404 and "Cette page n'existe pas" in unescape(missing)
        status, wrong_way = await admin.page("/questions/traiter")
        assert status == 405 and "passez par les menus" in unescape(wrong_way)
