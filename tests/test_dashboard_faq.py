"""An unanswered question becomes a FAQ variant: written to YAML, checked, and then answered."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from html import unescape
from pathlib import Path

import pytest
import yaml

from bot.config import DialogueSettings
from bot.conversation.dialogue import OrientationDialogue
from bot.dashboard.faqedit import VariantRefused, clean_variant, insert_variant
from bot.kb.loader import load_knowledge
from bot.messages import Incoming
from bot.places import Gazetteer
from tests.dashboard_helpers import (
    TODAY,
    Seeder,
    hidden,
    knowledge_copy,
    new_database,
    password_hash,
    running_dashboard,
)

__all__ = ["password_hash"]  # fixture

QUESTION = "qui peut lire mes messages"


def answer(knowledge: Path, gazetteer: Gazetteer, text: str) -> list[str]:
    """The FAQ ids the real dialogue answers `text` with, on this knowledge base."""
    kb = load_knowledge(knowledge, gazetteer)
    dialogue = OrientationDialogue(kb, gazetteer, DialogueSettings(), "54")
    return dialogue.step(None, Incoming("test", "u", "e1", text=text)).turn.trace.faq


def option_value(html: str, faq_id: str, file_part: str = "/commun/") -> str:
    values = re.findall(r'<option value="([^"]+)"', html)
    return next(v for v in values if v.endswith(f"#{faq_id}") and file_part in v)


@pytest.fixture
async def setup(tmp_path: Path) -> tuple[Path, Path]:
    knowledge = knowledge_copy(tmp_path / "knowledge")
    db = await new_database(tmp_path / "aiguillage.db")
    seed = Seeder(db)
    seed.question(TODAY, QUESTION)
    seed.question(TODAY - dt.timedelta(days=1), "Qui peut lire mes messages ?")
    seed.close()
    return knowledge, db


async def test_a_question_becomes_a_variant_the_bot_then_answers(
    setup: tuple[Path, Path], password_hash: str, gazetteer: Gazetteer
) -> None:
    knowledge, db = setup
    faq_file = knowledge / "commun" / "faq.yaml"
    before = faq_file.read_bytes()
    assert answer(knowledge, gazetteer, QUESTION) == []  # not understood today
    async with running_dashboard(db, password_hash, gazetteer, knowledge=knowledge) as admin:
        await admin.login()
        _, html = await admin.page("/questions")
        status, after = await admin.post(
            "/questions/variante",
            {
                "ids": hidden(html, "ids"),
                "faq": option_value(html, "faq_confidentialite"),
                "texte": QUESTION,
                "retour": "/questions",
            },
        )
        assert status == 200
        said = unescape(after)
        assert f"Variante « {QUESTION} » ajoutée à la question fréquente" in said
        assert "La vérification de la base est passée" in said
        assert '<li class="question">' not in after  # both wordings are handled
        _, handled = await admin.page("/questions?etat=traitees")
        assert "Ajoutée à la FAQ « Qu'est-ce que vous gardez sur moi ?" in unescape(handled)
    # Only one line was added to the file, in the right list; every other byte is the same.
    new = faq_file.read_bytes()
    diff = [
        line
        for line in difflib.unified_diff(
            before.decode().splitlines(), new.decode().splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == [f'+      - "{QUESTION}"']
    entry = next(f for f in yaml.safe_load(new)["faq"] if f["id"] == "faq_confidentialite")
    assert entry["variantes"][-1] == QUESTION
    assert answer(knowledge, gazetteer, QUESTION) == ["faq_confidentialite"]


async def test_a_bad_variant_is_refused_and_nothing_changes(
    setup: tuple[Path, Path], password_hash: str, gazetteer: Gazetteer
) -> None:
    knowledge, db = setup
    faq_file = knowledge / "commun" / "faq.yaml"
    before = faq_file.read_bytes()
    async with running_dashboard(db, password_hash, gazetteer, knowledge=knowledge) as admin:
        await admin.login()
        _, html = await admin.page("/questions")
        form = {"ids": hidden(html, "ids"), "retour": "/questions"}
        cases = {
            # already a variant of another FAQ: the bot would hesitate between the two
            "c'est quoi une SIAE": "déjà une variante d'une autre FAQ, « C'est quoi l'insertion",
            "vie privée": "Cette FAQ comprend déjà cette phrase",
            "mon numéro est •••": "partie masquée",
            "?!": "vide ou trop courte",
            "x" * 201: "trop longue (201 caractères, 200 au plus)",
        }
        for text, expected in cases.items():
            _, page = await admin.post(
                "/questions/variante",
                {**form, "faq": option_value(html, "faq_confidentialite"), "texte": text},
            )
            assert expected in unescape(page), text
        _, page = await admin.post(
            "/questions/variante", {**form, "faq": "../../etc/passwd#x", "texte": QUESTION}
        )
        assert "Choisissez une question fréquente dans la liste" in unescape(page)
        _, still = await admin.page("/questions")
        assert "Ajouter et vérifier" in still  # the question is still to handle
    assert faq_file.read_bytes() == before


async def test_when_the_check_fails_the_file_is_put_back_and_the_check_speaks(
    setup: tuple[Path, Path], password_hash: str, gazetteer: Gazetteer
) -> None:
    knowledge, db = setup
    faq_file = knowledge / "commun" / "faq.yaml"
    before = faq_file.read_bytes()
    broken = knowledge / "departements" / "54.yaml"
    broken.write_text(
        broken.read_text().replace("categories: [aci]", "categories: [garrage_solidaire]", 1)
    )
    async with running_dashboard(db, password_hash, gazetteer, knowledge=knowledge) as admin:
        await admin.login()
        _, html = await admin.page("/questions")
        _, page = await admin.post(
            "/questions/variante",
            {
                "ids": hidden(html, "ids"),
                "faq": option_value(html, "faq_confidentialite"),
                "texte": QUESTION,
                "retour": "/questions",
            },
        )
        said = unescape(page)
        assert "la base de connaissances a déjà des erreurs" in said
        assert "Le fichier est remis comme avant" in said
        assert "knowledge/departements/54.yaml:" in said  # the check's own report
        assert "vouliez-vous dire « garage_solidaire »" in said
    assert faq_file.read_bytes() == before


def test_variants_are_inserted_in_every_layout_without_touching_the_rest() -> None:
    block = (
        "faq:\n  - id: a\n    question: Q\n    variantes:\n      - x   # un commentaire\n"
        "    reponse: r\n"
    )
    assert insert_variant(block, "a", "y") == block.replace(
        "# un commentaire\n", '# un commentaire\n      - "y"\n'
    )
    flow = "faq:\n  - id: a\n    question: Q\n    variantes: [x, y]\n    reponse: r\n"
    assert insert_variant(flow, "a", "z") == flow.replace("[x, y]", '[x, y, "z"]')
    empty = "faq:\n  - id: a\n    question: Q\n    variantes: []\n    reponse: r\n"
    assert insert_variant(empty, "a", "z") == empty.replace("[]", '["z"]')
    absent = "faq:\n- id: a\n  question: >-\n    Q sur\n    deux lignes\n  reponse: r"
    assert insert_variant(absent, "a", "z") == absent.replace(
        "  reponse", '  variantes:\n    - "z"\n  reponse'
    )
    windows = block.replace("\n", "\r\n")
    assert insert_variant(windows, "a", "y") == windows.replace(
        "# un commentaire\r\n", '# un commentaire\r\n      - "y"\r\n'
    )
    tricky = 'il a dit "ça marche" : c\'est #1 \\ ok ? [oui] {non} & *étoile'
    result = yaml.safe_load(insert_variant(block, "a", tricky))
    assert result["faq"][0]["variantes"] == ["x", tricky]
    with pytest.raises(VariantRefused, match="à la main"):
        insert_variant("faq:\n  - {id: a, question: Q}\n", "a", "z")
    with pytest.raises(VariantRefused, match="n'est plus dans ce fichier"):
        insert_variant(block, "b", "z")


def test_variants_are_one_clean_line() -> None:
    assert clean_variant("  qui  peut\nlire\tmes messages ") == "qui peut lire mes messages"
    with pytest.raises(VariantRefused, match="invisibles"):
        clean_variant("qui peut\u200b lire")
