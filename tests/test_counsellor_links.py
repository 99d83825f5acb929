"""Counsellors' links and posters, named referrals and per-code figures: `aiguillage link`
through `bot.cli.main` (real files, a real SQLite database), the QR code decoded back to the
link (zxing-cpp), the poster PDF read back (pypdf)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from PIL import Image

from bot.cli import main
from bot.kb.knowledge import LoadReport, Problem
from bot.kb.models import CodeConseiller
from bot.staff.admins import AdminDesk, tell_admins_about_reload
from bot.staff.outbox import Outbox
from bot.store import ReferralCode, Store
from tests.conftest import Conversation
from tests.counsellors_support import config_with


def _link(tmp_path: Path, *args: str) -> int:
    return main(["--db", str(tmp_path / "a.db"), "link", *args, "--dossier", str(tmp_path)])


def test_link_writes_a_qr_that_decodes_to_the_link_and_a_poster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _link(
            tmp_path,
            "CD54-TOUL-MDS",
            "--telegram-bot",
            "AiguillageBot",
            "--matrix-user",
            "@aiguillage:example.org",
        )
        == 0
    )
    out = capsys.readouterr().out
    link = "https://t.me/AiguillageBot?start=CD54-TOUL-MDS"
    assert f"Telegram : {link}" in out and "code CD54-TOUL-MDS" in out
    png = tmp_path / "CD54-TOUL-MDS.png"
    assert [b.text for b in zxingcpp.read_barcodes(Image.open(png))] == [link]
    svg = (tmp_path / "CD54-TOUL-MDS.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    with Image.open(png) as image:  # 4 white modules (10 px each) on every side
        assert all(image.convert("L").getpixel((x, y)) == 255 for x in range(40) for y in (0, 39))
    poster = pypdf.PdfReader(tmp_path / "CD54-TOUL-MDS-affiche.pdf")
    assert len(poster.pages) == 1
    page = poster.pages[0]
    assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842
    text = page.extract_text()
    for expected in (
        link,
        "code CD54-TOUL-MDS",
        "Maison des solidarités de Toul",
        "oriente vers les structures",
        "Tapez /oubli pour tout effacer",
        "https://matrix.to/#/@aiguillage:example.org",
    ):
        assert expected in text.replace("\n", " "), expected
    images = list(page.images)
    assert len(images) == 1
    assert [b.text for b in zxingcpp.read_barcodes(images[0].image)] == [link]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["CD54 NANCY!"], "invalide"),
        (["CD54-INCONNU"], "inconnu"),
        (
            ["CD54-NEW", "--libelle", "Agence", "--besoin", "mobilite_permi"],
            "Vouliez-vous dire « mobilite_permis »",
        ),
        (["CD54-NEW", "--libelle", "Agence", "--commune", "Xyzzyville"], "commune inconnue"),
        (["CD54-NEW", "--libelle", "Agence"], "--telegram-bot ou --matrix-user"),
    ],
)
def test_link_refuses_bad_input_with_a_french_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert _link(tmp_path, *args) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_link_again_keeps_what_it_is_not_told_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _link(
            tmp_path,
            "CD54-LUNE",
            "--libelle",
            "Agence de Lunéville",
            "--commune",
            "Lunéville",
            "--besoin",
            "mobilite_permis",
            "--telegram-bot",
            "Bot_test",
        )
        == 0
    )
    assert _link(tmp_path, "CD54-LUNE", "--telegram-bot", "Bot_test") == 0
    out = capsys.readouterr().out.splitlines()
    again = [line for line in out if line.startswith("Telegram")][-1]
    assert again.endswith("?start=CD54-LUNE__b-mobilite_permis__c-54329")

    async def stored() -> ReferralCode:
        async with Store.open(tmp_path / "a.db", exclusive=False) as store:
            return (await store.referrals())["CD54-LUNE"]

    code = asyncio.run(stored())
    assert (code.label, code.need, code.commune) == (
        "Agence de Lunéville",
        "mobilite_permis",
        "54329",
    )


def test_a_code_in_the_knowledge_base_is_checked() -> None:
    with pytest.raises(ValueError, match="courriel"):
        CodeConseiller.model_validate(
            {
                "code": "CD54-X",
                "libelle": "x",
                "structure": "y",
                "departement": "54",
                "demandes": {"courriel": ["pas une adresse"]},
            }
        )
    with pytest.raises(ValueError, match="besoin"):
        CodeConseiller.model_validate(
            {
                "code": "CD54-X",
                "libelle": "x",
                "structure": "y",
                "departement": "54",
                "besoin": "permis",
            }
        )


async def test_a_person_sent_by_a_counsellor_is_greeted_in_their_name(person: Conversation) -> None:
    turn = await person.open_link("CD54-TOUL-MDS")
    first, greeting = turn.replies[0].text, turn.replies[1].text
    assert "code du conseiller qui vous a envoyé ici" in first  # the privacy notice says so
    assert greeting.startswith(
        "Bienvenue ! Votre conseillère de la Maison des solidarités de Toul vous a transmis ce lien"
    )
    await person.say("code CD54-NANCY")  # later: the notice was said, the code is kept too
    assert "Je garde ce code" in person.text


async def test_figures_per_code_count_people_results_and_requests(person: Conversation) -> None:
    other = Conversation(person.dispatcher, user="u2")
    for who in (person, other):
        await who.open_link("CD54-TOUL-MDS")
        await who.open_link("CD54-TOUL-MDS")  # the same person twice is one person
    await person.say("je suis au RSA à Nancy et je cherche un chantier d'insertion")
    await person.say("/conseiller")
    await person.press("cb:ask")
    await person.press("cb:yes")
    await person.say("06 12 34 56 78")
    figures = await person.dispatcher.store.code_figures("2000-01-01")
    assert figures["CD54-TOUL-MDS"] == {"personnes": 2, "resultats": 1, "rappels": 1}


async def test_a_reload_with_errors_reaches_the_admin_accounts(tmp_path: Path) -> None:
    config = config_with(admins={"telegram": [42], "matrix": ["@admin:example.org"]})
    async with Store.open(tmp_path / "a.db") as store:
        box = Outbox(store)
        desk = AdminDesk(config.admins, store, box)
        await tell_admins_about_reload(desk, LoadReport(applied=True))  # all good: nothing
        assert await box.pending() == []
        broken = LoadReport(applied=False, errors=(Problem("54.yaml", 3, 1, "erreur"),))
        await tell_admins_about_reload(desk, broken)
        due = await box.due("telegram") + await box.due("matrix")
        assert [(m.platform, m.target) for m in due] == [
            ("telegram", "42"),
            ("matrix", "@admin:example.org"),
        ]
        assert all("Base refusée" in m.text and "54.yaml:3:1: erreur" in m.text for m in due)
