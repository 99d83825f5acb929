"""The dashboard's pages and CSV files, as an admin reads them, on a month counted by hand."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from html import unescape
from pathlib import Path

from bot.dispatcher import Dispatcher
from bot.places import Gazetteer
from bot.store import Store
from tests.conftest import Conversation
from tests.dashboard_helpers import (
    TODAY,
    Admin,
    Seeder,
    hidden,
    known_db,
    password_hash,
    running_dashboard,
)

__all__ = ["known_db", "password_hash"]  # fixtures

INTERNAL_IDS = (
    "emploi_insertion",
    "mobilite_reparation",
    "garage_solidaire",
    "faq_pass_iae",
    "urgence\b",
)


def card(html: str, label: str) -> int:
    """The number on the summary card called `label`."""
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>([\d\u202f]+)</dd>", unescape(html))
    assert found, f"no card {label}"
    return int(found.group(1).replace("\u202f", ""))


def table_rows(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table with this caption, as text cells."""
    text = unescape(html)
    start = text.index(f"<caption>{caption}")
    body = text[start : text.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    return [
        [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
        for r in rows
    ]


async def logged_in(admin: Admin) -> Admin:
    status, _ = await admin.login()
    assert status == 303
    return admin


async def test_the_figures_of_the_last_30_days_with_french_labels(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        status, html = await admin.page("/")
        assert status == 200
        assert card(html, "Personnes") == 3  # P4 came 60 days ago
        assert card(html, "Conversations") == 4  # P1 twice (2 hours apart), P2, P3
        assert card(html, "Messages reçus") == 7
        assert card(html, "Résultats montrés") == 3
        assert card(html, "Réponses aux questions fréquentes") == 2
        assert card(html, "Demandes de rappel") == 1
        assert card(html, "Questions non comprises") == 1
        assert card(html, "Urgences") == 1
        text = unescape(html)
        assert table_rows(html, "Besoins des personnes orientées") == [
            ["Trouver un emploi", "1", "2"],
            ["Réparer ma voiture", "1", "1"],
        ]
        assert ["Atelier et chantier d'insertion (ACI)", "1", "2"] in table_rows(
            html, "Catégories des structures montrées"
        )
        assert table_rows(html, "Questions fréquentes répondues") == [
            ["C'est quoi le PASS IAE ?", "2", "2"]
        ]
        assert table_rows(html, "Par département") == [
            ["54 — Meurthe-et-Moselle", "2", "3", "3", "2", "1"],
            ["93 — Seine-Saint-Denis", "1", "1", "0", "0", "0"],
        ]
        assert table_rows(html, "Par code conseiller") == [
            ["Agence France Travail de Nancy (CD54-NANCY)", "1", "2", "2", "1"],
            ["Mission locale de Toul (CD54-TOUL)", "0", "0", "0", "0"],
        ]
        visible = re.sub(r"<[^>]+>", " ", text)
        for internal in INTERNAL_IDS:
            assert not re.search(internal, visible), internal
        assert "du 01/11/2026 au 30/11/2026" in text


async def test_charts_are_svg_drawn_on_the_server(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        _, html = await admin.page("/")
        charts = re.findall(r'<svg class="graphique".*?</svg>', html, re.S)
        assert len(charts) == 5
        days = charts[0]
        assert 'aria-label="Personnes par jour"' in days
        assert days.count('<g class="colonne">') == 30  # one column per day
        assert "<title>30/11 : 1 personnes</title>" in days
        needs = charts[1]
        assert "<title>Trouver un emploi : 2 résultats</title>" in needs


async def test_the_period_can_be_7_or_90_days_or_chosen(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        assert card((await admin.page("/?periode=7"))[1], "Personnes") == 2
        assert card((await admin.page("/?periode=90"))[1], "Personnes") == 4
        d10, d3 = (TODAY - dt.timedelta(days=n) for n in (10, 3))
        _, html = await admin.page(f"/?periode=perso&du={d10}&au={d3}")
        assert card(html, "Personnes") == 2  # P2 and P3
        assert "Du 20/11/2026 au 27/11/2026" in html
        _, french = await admin.page("/?periode=perso&du=20/11/2026&au=27/11/2026")
        assert card(french, "Personnes") == 2
        _, wrong = await admin.page(f"/?periode=perso&du={d3}&au={d10}")
        assert "la date de fin est avant la date de début" in unescape(wrong)
        assert card(wrong, "Personnes") == 3  # the last 30 days instead
        _, garbage = await admin.page("/?periode=perso&du=hier&au=demain")
        assert "donnez deux dates" in unescape(garbage)


async def test_figures_per_departement_and_per_counsellor_code(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        _, html = await admin.page("/?departement=93")
        assert card(html, "Personnes") == 1 and card(html, "Urgences") == 1
        assert "93 — Seine-Saint-Denis" in html
        _, html = await admin.page("/?code=CD54-NANCY")
        assert card(html, "Personnes") == 1
        assert card(html, "Conversations") == 2
        assert card(html, "Réponses aux questions fréquentes") == 1
        assert "Agence France Travail de Nancy (CD54-NANCY)" in html
        _, bad = await admin.page("/?departement=<b>&code=x%20y")
        assert "Ce département n'existe pas" in unescape(bad)
        assert "Ce code conseiller n'est pas valable" in unescape(bad)
        assert "<b>" not in bad


async def test_each_table_downloads_as_a_csv_for_french_spreadsheets(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    seed = Seeder(known_db)
    seed.question(TODAY, '=HYPERLINK("http://evil.example","cliquez")')
    seed.close()
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        response = await admin.client.get("/export/besoins.csv?periode=30")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="aiguillage-besoins-2026-11-01-2026-11-30.csv"'
        )
        body = await response.read()
        assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
        assert body.decode("utf-8-sig").split("\r\n") == [
            "Besoin;Personnes;Résultats montrés",
            "Trouver un emploi;1;2",
            "Réparer ma voiture;1;1",
            "",
        ]
        for name in ("chiffres", "jours", "categories", "faq", "departements", "codes"):
            response = await admin.client.get(f"/export/{name}.csv")
            assert response.status == 200, name
        lines = (await (await admin.client.get("/export/jours.csv")).read()).decode("utf-8-sig")
        assert len(lines.strip().split("\r\n")) == 31  # header + 30 days
        questions = (await (await admin.client.get("/export/questions.csv")).read()).decode(
            "utf-8-sig"
        )
        assert questions.startswith("Question (masquée);Fois;Dernière fois;")
        assert "'=HYPERLINK" in questions  # never a live formula
        assert "jean.dupont@example.org" not in questions
        assert "je peux venir avec mon CHIEN;2;" in questions
        missing = await admin.client.get("/export/nimporte.csv")
        assert missing.status == 404


async def test_unanswered_questions_are_grouped_counted_masked_and_escaped(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        _, html = await admin.page("/questions")
        text = unescape(html)
        assert text.count('<li class="question">') == 2  # the old one is out of the period
        assert "je peux venir avec mon CHIEN" in text  # the latest wording of the two
        assert "2 fois" in text
        assert "la plus proche : « C'est quoi le PASS IAE ? »" in text
        assert "<script>alert" not in html  # shown, never run
        assert "&lt;script&gt;alert(" in html
        assert "jean.dupont@example.org" not in html and "écrivez à •••" in text
        _, by_code = await admin.page("/questions?code=CD54-NANCY")
        assert unescape(by_code).count('<li class="question">') == 1
        assert "1 fois" in unescape(by_code)
        _, in_93 = await admin.page("/questions?departement=93")
        assert unescape(in_93).count('<li class="question">') == 1


async def test_an_admin_marks_a_question_handled(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        _, html = await admin.page("/questions")
        ids = hidden(html, "ids")  # the first group: the two "chien" questions
        assert len(ids.split(",")) == 2
        status, after = await admin.post("/questions/traiter", {"ids": ids, "retour": "/questions"})
        assert status == 200
        assert "2 questions marquées traitées." in unescape(after)
        assert "mon CHIEN" not in after
        _, handled = await admin.page("/questions?etat=traitees")
        assert "mon CHIEN" in handled and "Traitée" in unescape(handled)
        _, again = await admin.post("/questions/traiter", {"ids": ids, "retour": "/questions"})
        assert "déjà traitées" in unescape(again)
    with sqlite3.connect(known_db) as db:
        rows = db.execute("SELECT COUNT(*) FROM unanswered WHERE handled_at IS NOT NULL")
        assert rows.fetchone()[0] == 2


async def test_call_back_requests_by_departement_and_code_without_phone_numbers(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        _, html = await admin.page("/rappels")
        rows = table_rows(html, "Demandes de rappel <")
        assert [r[2:9] for r in rows] == [
            [
                "54 — Meurthe-et-Moselle",
                "Nancy (54395)",
                "Trouver un emploi",
                "Agence France Travail de Nancy (CD54-NANCY)",
                "Telegram",
                "oui",
                "Nouvelle",
            ],
            [
                "93 — Seine-Saint-Denis",
                "Saint-Denis (93066)",
                "Non précisé",
                "Sans code",
                "Telegram",
                "oui",
                "Traitée",
            ],
        ]
        assert table_rows(html, "Demandes de rappel par département") == [
            ["54 — Meurthe-et-Moselle", "1", "1"],
            ["93 — Seine-Saint-Denis", "1", "0"],
        ]
        assert "06 12 34 56 78" not in html
        _, new_only = await admin.page("/rappels?statut=nouveau")
        assert len(table_rows(new_only, "Demandes de rappel <")) == 1
        _, in_93 = await admin.page("/rappels?departement=93")
        assert len(table_rows(in_93, "Demandes de rappel <")) == 1
        _, by_code = await admin.page("/rappels?code=CD54-NANCY")
        assert len(table_rows(by_code, "Demandes de rappel <")) == 1
        csv = (await (await admin.client.get("/export/rappels.csv")).read()).decode("utf-8-sig")
        assert "06 12 34 56 78" not in csv and ";oui;Nouvelle" in csv
        for name in ("rappels-departements", "rappels-codes"):
            assert (await admin.client.get(f"/export/{name}.csv")).status == 200


async def test_a_real_conversation_shows_in_the_dashboard(
    store: Store, dispatcher: Dispatcher, tmp_path: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    """The events the real dialogue writes are the ones the dashboard counts and labels."""
    person = Conversation(dispatcher, user="dash1")
    await person.open_link("CD54-NANCY")
    await person.say("je suis au RSA à Nancy et je cherche un chantier d'insertion")
    await person.say("qui peut lire mes messages")
    today = dt.datetime.now(dt.UTC).date()
    async with running_dashboard(
        tmp_path / "aiguillage.db", password_hash, gazetteer, today=today
    ) as admin:
        await logged_in(admin)
        _, html = await admin.page("/")
        assert card(html, "Personnes") == 1
        assert card(html, "Messages reçus") == 3
        assert card(html, "Résultats montrés") >= 1
        assert card(html, "Questions non comprises") == 1
        assert "Atelier et chantier d'insertion (ACI)" in unescape(html)
        assert table_rows(html, "Par code conseiller")[0][:3] == ["CD54-NANCY", "1", "1"]
        _, questions = await admin.page("/questions")
        assert "qui peut lire mes messages" in questions


async def test_the_page_shows_the_100_most_frequent_questions_and_the_csv_all(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    seed = Seeder(known_db)
    for n in range(103):
        seed.question(TODAY, f"question numéro {n} sans réponse")
    seed.close()
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        _, html = await admin.page("/questions")
        assert html.count('<li class="question">') == 100
        assert "105 questions : les 100 plus fréquentes sont affichées." in unescape(html)
        assert html.index("mon CHIEN") < html.index("question numéro")  # 2 times comes first
        csv = (await (await admin.client.get("/export/questions.csv")).read()).decode("utf-8-sig")
        assert len(csv.strip().split("\r\n")) == 1 + 105


async def test_figures_are_reused_for_30_seconds_then_computed_again(
    known_db: Path, password_hash: str, gazetteer: Gazetteer
) -> None:
    async with running_dashboard(known_db, password_hash, gazetteer) as admin:
        await logged_in(admin)
        assert card((await admin.page("/"))[1], "Personnes") == 3
        seed = Seeder(known_db)
        seed.event(TODAY, "nouvelle0001", "turn")
        seed.close()
        _, html = await admin.page("/")
        assert card(html, "Personnes") == 3  # the CSV links of this page give the same figures
        assert "recalculés au plus toutes les 30 secondes" in html
        admin.clock.now += 31
        assert card((await admin.page("/"))[1], "Personnes") == 4
