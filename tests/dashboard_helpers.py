"""What the dashboard tests share: a real database filled with known events, a real dashboard
application on it, and an admin who logs in through the real login form."""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from bot.config import DEFAULT_KNOWLEDGE
from bot.dashboard.data import DashboardData
from bot.dashboard.faqedit import Check, FaqEditor
from bot.dashboard.labels import LabelSource
from bot.dashboard.settings import DashboardSettings
from bot.dashboard.web import Dashboard, build_app
from bot.places import Gazetteer
from bot.store import Store

TODAY = dt.date(2026, 11, 30)
NOON = dt.time(12, 0)
LOGIN = "marie"
PASSWORD = "un mot de passe bien long"


class Clock:
    """Time that a test moves by hand."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def at(day: dt.date, minutes: float = 0.0) -> float:
    """A Unix time on `day` at noon UTC, plus some minutes."""
    return dt.datetime.combine(day, NOON, tzinfo=dt.UTC).timestamp() + minutes * 60


async def new_database(path: Path) -> Path:
    async with Store.open(path):  # the store's own schema and migrations
        pass
    return path


class Seeder:
    """Writes rows the way the bot does (same tables, same columns), with chosen dates."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)

    def close(self) -> None:
        self.db.close()

    def event(
        self,
        day: dt.date,
        person: str,
        kind: str,
        *,
        minutes: float = 0.0,
        need: str | None = None,
        categorie: str | None = None,
        departement: str | None = "54",
        referral: str | None = None,
        platform: str = "telegram",
    ) -> None:
        self.db.execute(
            "INSERT INTO usage_events (at, day, platform, person, kind, need, categorie,"
            " departement, referral) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (at(day, minutes), day.isoformat(), platform, person, kind, need, categorie,
             departement, referral),
        )  # fmt: skip

    def question(
        self,
        day: dt.date,
        text: str,
        *,
        key: str = "k" * 32,
        departement: str = "54",
        best_match: str | None = None,
        minutes: float = 0.0,
    ) -> None:
        self.db.execute(
            "INSERT INTO unanswered (at, key, departement, text, best_match, score)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (at(day, minutes), key, departement, text, best_match, 60.0 if best_match else None),
        )

    def callback(
        self,
        day: dt.date,
        *,
        phone: str | None = "06 12 34 56 78",
        commune: str | None = "54395",
        need: str | None = "mobilite_permis",
        referral: str | None = None,
        status: str = "nouveau",
        key: str = "c" * 32,
    ) -> None:
        self.db.execute(
            "INSERT INTO callbacks (at, key, platform, phone, moment, commune, need, referral,"
            " status) VALUES (?, ?, 'telegram', ?, NULL, ?, ?, ?, ?)",
            (at(day), key, phone, commune, need, referral, status),
        )

    def code(self, code: str, label: str, departement: str = "54") -> None:
        self.db.execute(
            "INSERT INTO referral_codes (code, label, departement, need, commune, created_at)"
            " VALUES (?, ?, ?, NULL, NULL, 0)",
            (code, label, departement),
        )


P1, P2, P3, P4 = (f"personne{n:04d}" for n in (1, 2, 3, 4))  # usage pseudonyms (12 chars)


def key_of(person: str) -> str:
    """The conversation key whose first 12 characters are the usage pseudonym."""
    return person + "0" * 20


def seed_known_month(path: Path) -> None:
    """A small month whose every figure a test can count by hand (see the assertions).

    - P1 (code CD54-NANCY, 54): two conversations on TODAY (a 2-hour gap), 3 messages, two
      ACI results for emploi_insertion, one FAQ answer (faq_pass_iae), one call-back request;
    - P2 (54): one conversation 3 days ago, one garage result for mobilite_reparation, one FAQ
      answer (faq_pass_iae), one question not understood;
    - P3 (93): one conversation 10 days ago, one urgence; P4 (54): one message 60 days ago.
    Unanswered: the same question from P1 (today) and P2 (3 days ago) in two wordings, a hostile
    one with an e-mail address from P3 (10 days ago), an old one (60 days ago).
    Call-backs: P1 today (Nancy, new, a phone number), P3 10 days ago (Saint-Denis, handled).
    """
    seed = Seeder(path)
    d0, d3, d10, d60 = (TODAY - dt.timedelta(days=n) for n in (0, 3, 10, 60))
    seed.code("CD54-NANCY", "Agence France Travail de Nancy")
    seed.code("CD54-TOUL", "Mission locale de Toul")
    seed.event(d0, P1, "start", minutes=0, referral="CD54-NANCY")
    seed.event(d0, P1, "turn", minutes=0)
    seed.event(d0, P1, "turn", minutes=2)
    seed.event(d0, P1, "orientation", minutes=2, need="emploi_insertion", categorie="aci",
               referral="CD54-NANCY")  # fmt: skip
    seed.event(d0, P1, "orientation", minutes=2, need="emploi_insertion", categorie="aci",
               referral="CD54-NANCY")  # fmt: skip
    seed.event(d0, P1, "turn", minutes=125)
    seed.event(d0, P1, "faq", minutes=125, categorie="faq_pass_iae")
    seed.event(d0, P1, "rappel", minutes=126, need="emploi_insertion", referral="CD54-NANCY")
    seed.event(d3, P2, "turn")
    seed.event(d3, P2, "orientation", need="mobilite_reparation", categorie="garage_solidaire")
    seed.event(d3, P2, "turn", minutes=5)
    seed.event(d3, P2, "faq", minutes=5, categorie="faq_pass_iae")
    seed.event(d3, P2, "turn", minutes=6)
    seed.event(d3, P2, "non_compris", minutes=6)
    seed.event(d10, P3, "turn", departement="93")
    seed.event(d10, P3, "urgence", need="urgence", departement="93")
    seed.event(d60, P4, "turn")
    seed.question(d0, "je peux venir avec mon CHIEN", key=key_of(P1), best_match="faq_pass_iae")
    seed.question(d3, "Je peux venir avec mon chien ?", key=key_of(P2), best_match="faq_pass_iae")
    seed.question(d10, HOSTILE_QUESTION, key=key_of(P3), departement="93")
    seed.question(d60, "une question ancienne", key=key_of(P4))
    seed.callback(d0, key=key_of(P1), commune="54395", need="emploi_insertion",
                  referral="CD54-NANCY")  # fmt: skip
    seed.callback(d10, key=key_of(P3), commune="93066", need=None, status="traite")
    seed.close()


HOSTILE_QUESTION = "<script>alert('x')</script> =1+1 écrivez à jean.dupont@example.org"


def seed_demo(path: Path, today: dt.date = TODAY, people: int = 140) -> None:
    """A plausible month for the browser test and the screenshots (fixed random seed)."""
    rng = random.Random(54)
    seed = Seeder(path)
    codes = {
        "CD54-NANCY": "Agence France Travail de Nancy",
        "CD54-LUNEVILLE": "Service insertion de Lunéville",
        "ML-TOUL": "Mission locale Terres de Lorraine",
    }
    for code, label in codes.items():
        seed.code(code, label)
    needs = {
        "emploi_insertion": ["aci", "ei", "ai", "etti"],
        "mobilite_reparation": ["garage_solidaire"],
        "mobilite_permis": ["auto_ecole_solidaire"],
        "mobilite_accompagnement": ["plateforme_mobilite"],
        "creation_activite": ["cae"],
        "emploi_handicap": ["ea"],
        "jeunes_cooperative": ["cjs"],
    }
    faqs = [
        "faq_pass_iae",
        "faq_iae_definition",
        "faq_cumul_rsa_salaire",
        "faq_rqth",
        "faq_aides_permis",
        "faq_garage_solidaire_conditions",
        "faq_cae_fonctionnement",
    ]
    for n in range(people):
        person = f"demo{n:08d}"
        day = today - dt.timedelta(days=int(rng.triangular(0, 29, 4)))
        dept = rng.choices(["54", "93", "08", "58"], weights=[70, 15, 10, 5])[0]
        code = rng.choice([None, None, *codes]) if dept == "54" else None
        if code:
            seed.event(day, person, "start", referral=code, departement=dept)
        need = rng.choice(list(needs))
        for turn in range(rng.randint(2, 7)):
            seed.event(day, person, "turn", minutes=turn * 2, departement=dept)
        for _ in range(rng.randint(1, 3)):
            category = rng.choice(needs[need])
            seed.event(day, person, "orientation", minutes=3, need=need, categorie=category,
                       departement=dept, referral=code)  # fmt: skip
        if rng.random() < 0.1:
            seed.event(day, person, "non_compris", minutes=5, departement=dept)
        if rng.random() < 0.5:
            seed.event(day, person, "faq", minutes=4, categorie=rng.choice(faqs), departement=dept)
        if rng.random() < 0.12:
            seed.event(day, person, "rappel", minutes=6, need=need, departement=dept,
                       referral=code)  # fmt: skip
            seed.callback(day, need=need, referral=code, commune=_commune(dept),
                          status=rng.choice(["nouveau", "nouveau", "traite"]))  # fmt: skip
    questions = [
        ("c'est combien le salaire en chantier ?", 7, "faq_cumul_rsa_salaire"),
        ("C'est combien le salaire en chantier", 2, "faq_cumul_rsa_salaire"),
        ("je peux garder mon chien pendant la formation", 3, None),
        ("le pass iae il dure combien de temps", 4, "faq_pass_iae"),
        ("<script>alert('piège')</script> aide moi", 1, None),
        ("rappelez moi au 06 12 34 56 78 svp", 1, None),
    ]
    for text, times, best in questions:
        for k in range(times):
            seed.question(today - dt.timedelta(days=k * 2), text, best_match=best, minutes=k)
    seed.close()


def _commune(dept: str) -> str:
    return {"54": "54395", "93": "93066", "08": "08105", "58": "58194"}[dept]


def knowledge_copy(target: Path) -> Path:
    """A writable copy of the shipped knowledge base's YAML (the gazetteer stays shared)."""
    for sub in ("commun", "departements"):
        shutil.copytree(DEFAULT_KNOWLEDGE / sub, target / sub)
    shutil.copy(DEFAULT_KNOWLEDGE / "admin_units.csv", target / "admin_units.csv")
    return target


def real_check(gazetteer: Gazetteer) -> Check:
    """The knowledge check as `aiguillage check` runs it."""
    import io

    from bot.kb.check_cli import run_check

    def check(directory: Path) -> tuple[bool, str]:
        report = io.StringIO()
        return run_check(directory, gazetteer, report) == 0, report.getvalue()

    return check


@dataclass
class Admin:
    """An admin in a browser-like HTTP client (cookies kept between requests)."""

    client: TestClient  # type: ignore[type-arg]
    clock: Clock

    async def login(self, login: str = LOGIN, password: str = PASSWORD) -> tuple[int, str]:
        page = await self.client.get("/connexion")
        token = hidden(await page.text(), "jeton")
        response = await self.client.post(
            "/connexion",
            data={"identifiant": login, "mot_de_passe": password, "jeton": token},
            allow_redirects=False,
        )
        return response.status, await response.text()

    async def page(self, path: str) -> tuple[int, str]:
        response = await self.client.get(path, allow_redirects=False)
        return response.status, await response.text()

    async def post(self, path: str, data: dict[str, str]) -> tuple[int, str]:
        """POST a form with the page's CSRF token, follow the redirect, return that page."""
        _, html = await self.page("/questions")
        response = await self.client.post(path, data={"csrf": hidden(html, "csrf"), **data})
        return response.status, await response.text()


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


@asynccontextmanager
async def running_dashboard(
    db: Path,
    password_hash: str,
    gazetteer: Gazetteer,
    *,
    knowledge: Path = DEFAULT_KNOWLEDGE,
    settings: DashboardSettings | None = None,
    today: dt.date = TODAY,
) -> AsyncIterator[Admin]:
    clock = Clock(at(today))
    async with DashboardData.open(db, clock=clock) as data:
        dashboard = Dashboard(
            data=data,
            admins={LOGIN: password_hash},
            labels=LabelSource(knowledge, gazetteer),
            editor=FaqEditor(knowledge, real_check(gazetteer)),
            settings=settings or DashboardSettings(),
            today=lambda: today,
            clock=clock,
        )
        async with TestClient(TestServer(build_app(dashboard))) as client:
            yield Admin(client, clock)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """A real Argon2id hash, with light parameters so that each login in a test is quick."""
    quick = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    return quick.hash(PASSWORD)


@pytest.fixture
async def known_db(tmp_path: Path) -> Path:
    db = await new_database(tmp_path / "aiguillage.db")
    seed_known_month(db)
    return db
