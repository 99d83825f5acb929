"""Dashboard page times on a large database: how long an admin waits for each page.

Builds a SQLite database with the store's schema (`Store.open`) and `--people` people over 90
days (about 10 usage events each: turns, results, FAQ answers, call-backs; plus unanswered
questions and call-back requests), then serves the real dashboard application on 127.0.0.1,
logs in and times each page and a CSV export over HTTP (median and max of `--repeat` loads),
with the 30-second figures cache off so that every load computes its figures.

    python -m bench.bench_dashboard [--people 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from bot.config import DEFAULT_KNOWLEDGE
from bot.dashboard.data import DashboardData
from bot.dashboard.faqedit import FaqEditor
from bot.dashboard.labels import LabelSource
from bot.dashboard.web import Dashboard, build_app
from bot.places import Gazetteer
from bot.store import Store

PAGES = [
    "/?periode=7",
    "/?periode=30",
    "/?periode=90",
    "/?periode=30&departement=54",
    "/?periode=30&code=CD54-C3",
    "/questions?periode=90",
    "/rappels?periode=90",
    "/export/jours.csv?periode=90",
    "/export/questions.csv?periode=90",
]
NEEDS = {
    "emploi_insertion": ["aci", "ei", "ai", "etti", "eiti"],
    "mobilite_reparation": ["garage_solidaire"],
    "mobilite_permis": ["auto_ecole_solidaire"],
    "creation_activite": ["cae"],
    "emploi_handicap": ["ea"],
}
FAQ = ["faq_pass_iae", "faq_iae_definition", "faq_cumul_rsa_salaire", "faq_rqth", "faq_covoiturage"]
DEPTS = ["54", "54", "54", "93", "08", "58", "60", "31"]


def build(path: Path, people: int, today: dt.date) -> int:
    asyncio.run(_migrate(path))
    rng = random.Random(7)
    events: list[tuple[object, ...]] = []
    questions: list[tuple[object, ...]] = []
    callbacks: list[tuple[object, ...]] = []
    for n in range(people):
        _one_person(rng, f"{n:012d}", today, people, events, questions, callbacks)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO usage_events (at, day, platform, person, kind, need, categorie, departement,"
        " referral) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    db.executemany(
        "INSERT INTO unanswered (at, key, departement, text, best_match, score)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        questions,
    )
    db.executemany(
        "INSERT INTO callbacks (at, key, platform, phone, commune, need, referral)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        callbacks,
    )
    db.executemany(
        "INSERT INTO referral_codes (code, label, departement, created_at) VALUES (?, ?, ?, 0)",
        [(f"CD{d}-C{k}", f"Agence {k} du {d}", d) for d in set(DEPTS) for k in range(10)],
    )
    db.execute("COMMIT")
    db.close()
    return len(events)


def _one_person(
    rng: random.Random,
    person: str,
    today: dt.date,
    people: int,
    events: list[tuple[object, ...]],
    questions: list[tuple[object, ...]],
    callbacks: list[tuple[object, ...]],
) -> None:
    """One person's visit: 3 to 8 messages, results, maybe a FAQ, a question, a call-back."""
    dept = rng.choice(DEPTS)
    day = today - dt.timedelta(days=rng.randrange(90))
    base = dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC).timestamp()
    base += rng.randrange(12 * 3600)
    code = f"CD{dept}-C{rng.randrange(10)}" if rng.random() < 0.3 else None
    key = person + "0" * 20

    def add(kind: str, minutes: float, need: str | None = None, cat: str | None = None) -> None:
        referral = code if kind in ("start", "orientation", "rappel") else None
        row = (base + minutes * 60, day.isoformat(), "telegram", person, kind, need, cat, dept)
        events.append((*row, referral))

    if code:
        add("start", 0)
    need = rng.choice(list(NEEDS))
    for turn in range(rng.randint(3, 8)):
        add("turn", turn * 2)
    for _ in range(rng.randint(1, 3)):
        add("orientation", 4, need, rng.choice(NEEDS[need]))
    if rng.random() < 0.4:
        add("faq", 5, cat=rng.choice(FAQ))
    if rng.random() < 0.1:
        add("non_compris", 6)
        text = f"question numéro {rng.randrange(people // 5 + 1)} sans réponse"
        questions.append((base, key, dept, text, None, None))
    if rng.random() < 0.05:
        add("rappel", 7, need)
        commune = {"54": "54395", "93": "93066", "08": "08105"}.get(dept, "58194")
        callbacks.append((base, key, "telegram", "0600000000", commune, need, code))


async def _migrate(path: Path) -> None:
    async with Store.open(path):
        pass


async def measure(path: Path, repeat: int) -> dict[str, list[float]]:
    password = "mot de passe du banc d'essai"
    hashed = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(password)
    gazetteer = Gazetteer.load(DEFAULT_KNOWLEDGE / "communes.csv.gz")
    timings: dict[str, list[float]] = {page: [] for page in PAGES}
    async with DashboardData.open(path, cache_s=0) as data:  # every load computes
        dashboard = Dashboard(
            data=data,
            admins={"banc": hashed},
            labels=LabelSource(DEFAULT_KNOWLEDGE, gazetteer),
            editor=FaqEditor(DEFAULT_KNOWLEDGE, lambda _: (True, "")),  # never called here
        )
        async with TestClient(TestServer(build_app(dashboard))) as client:
            login = await (await client.get("/connexion")).text()
            token = re.search(r'name="jeton" value="([^"]+)"', login)
            assert token
            await client.post(
                "/connexion",
                data={"identifiant": "banc", "mot_de_passe": password, "jeton": token.group(1)},
            )
            for _ in range(repeat):
                for page in PAGES:
                    start = time.perf_counter()
                    response = await client.get(page)
                    await response.read()
                    timings[page].append(time.perf_counter() - start)
                    assert response.status == 200, page
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        start = time.perf_counter()
        count = build(path, args.people, dt.datetime.now(dt.UTC).date())
        size = path.stat().st_size / 1e6
        print(f"{args.people:,} people, {count:,} usage events over 90 days, {size:.0f} MB "
              f"(built in {time.perf_counter() - start:.1f} s)")  # fmt: skip
        timings = asyncio.run(measure(path, args.repeat))
    print(f"{'page':<40} {'median':>9} {'max':>9}")
    for page, values in timings.items():
        median, worst = statistics.median(values) * 1000, max(values) * 1000
        print(f"{page:<40} {median:>7.0f} ms {worst:>7.0f} ms")


if __name__ == "__main__":
    main()
