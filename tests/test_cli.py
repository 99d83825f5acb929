"""The `aiguillage` command as admins and scripts use it: real subprocesses, real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bot.config import DEFAULT_KNOWLEDGE

ROOT = Path(__file__).resolve().parents[1]


def aiguillage(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_jsonl_mode_answers_one_line_per_line_in_order(tmp_path: Path) -> None:
    lines = [
        {"user": "u1", "text": "je suis au RSA à Nancy et je cherche un chantier d'insertion"},
        "this is not json",
        {"user": "u2", "location": {"lat": 48.69, "lon": 6.18}},
        {"user": "u1", "choice": "more"},
        {"user": "u3", "start": "CD54-NANCY__b-mobilite_permis__c-54395"},
        {"user": "u4"},
        {"user": "u4", "location": {"lat": "x", "lon": 1}},
        {"user": "u2", "text": "c'est quoi une CAE ?"},
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    result = aiguillage("chat", "--jsonl", "--db", str(tmp_path / "a.db"), stdin=text + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["user"] == "u1" and out[0]["trace"]["structures"][0]["categorie"] == "aci"
    assert set(out[0]["trace"]) == {"need", "asking", "faq", "structures", "eligibility"}
    assert set(out[0]["trace"]["structures"][0]) == {"id", "nom", "categorie", "distance_km"}
    assert "error" in out[1] and "error" in out[5] and "error" in out[6]
    assert out[2]["trace"]["asking"] == "besoin"
    assert out[3]["user"] == "u1" and out[3]["trace"]["structures"]
    assert out[4]["trace"]["need"] == "mobilite_permis"
    assert out[7]["trace"]["faq"] == ["faq_cae_fonctionnement"]
    choices = out[0]["replies"][-1]["choices"]
    assert all(set(c) == {"id", "label"} for c in choices)


def test_check_accepts_the_shipped_knowledge_base() -> None:
    result = aiguillage("check")
    assert result.returncode == 0, result.stdout
    assert "valide" in result.stdout


def test_check_reports_a_typo_with_its_position_and_a_suggestion(tmp_path: Path) -> None:
    broken = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, broken)
    path = broken / "departements" / "54.yaml"
    text = path.read_text(encoding="utf-8")
    line = next(
        n for n, row in enumerate(text.splitlines(), 1) if "categorie: garage_solidaire" in row
    )
    path.write_text(
        text.replace("categorie: garage_solidaire", "categorie: garrage_solidaire", 1),
        encoding="utf-8",
    )
    result = aiguillage("check", str(broken))
    assert result.returncode == 1
    assert f"departements/54.yaml:{line}:" in result.stdout
    assert "garage_solidaire" in result.stdout and "vouliez-vous dire" in result.stdout


def test_the_bot_refuses_to_start_on_an_invalid_knowledge_base(tmp_path: Path) -> None:
    broken = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE, broken)
    (broken / "commun" / "faq.yaml").write_text("faq: [unclosed\n", encoding="utf-8")
    result = aiguillage(
        "chat", "--jsonl", "--knowledge", str(broken), "--db", str(tmp_path / "a.db"), stdin=""
    )
    assert result.returncode == 1
    assert "faq.yaml:" in result.stderr and "ne démarre pas" in result.stderr


def test_a_wrong_config_gets_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("departemnt: '54'\n", encoding="utf-8")
    result = aiguillage("--config", str(config), "check")
    assert result.returncode == 2
    assert "departement" in result.stderr


def test_link_prints_the_links_and_writes_a_qr_code(tmp_path: Path) -> None:
    qr = tmp_path / "lien.png"
    result = aiguillage(
        "link",
        "cd54-nancy",
        "--besoin",
        "mobilite_permis",
        "--telegram-bot",
        "AiguillageBot",
        "--matrix-user",
        "@bot:example.org",
        "--qr",
        str(qr),
        "--db",
        str(tmp_path / "a.db"),
    )
    assert result.returncode == 0, result.stderr
    assert "https://t.me/AiguillageBot?start=CD54-NANCY__b-mobilite_permis" in result.stdout
    assert "https://matrix.to/#/@bot:example.org" in result.stdout
    assert "code CD54-NANCY" in result.stdout
    assert qr.read_bytes().startswith(b"\x89PNG")


def test_stats_show_figures_and_unanswered_questions(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    lines = [{"user": "u1", "text": "xqzw blorp"}, {"user": "u2", "text": "garage solidaire nancy"}]
    aiguillage("chat", "--jsonl", "--db", db, stdin="\n".join(json.dumps(x) for x in lines))
    result = aiguillage("stats", "--json", "--db", db)
    data = json.loads(result.stdout)
    assert data["personnes"] == 2
    assert [q["text"] for q in data["questions"]] == ["xqzw blorp"]
    assert data["par_besoin"].get("mobilite_reparation")
    aiguillage("stats", "--purger-questions", "--db", db)
    assert json.loads(aiguillage("stats", "--json", "--db", db).stdout)["questions"] == []


def test_stats_count_people_by_counsellor_code(tmp_path: Path) -> None:
    db = str(tmp_path / "a.db")
    aiguillage("link", "CD54-NANCY", "--libelle", "Agence de Nancy", "--db", db)
    starts = [{"user": "a", "start": "CD54-NANCY"}, {"user": "b", "text": "code cd54-nancy"}]
    aiguillage("chat", "--jsonl", "--db", db, stdin="\n".join(json.dumps(x) for x in starts))
    data = json.loads(aiguillage("stats", "--json", "--db", db).stdout)
    assert data["codes"] == {"CD54-NANCY": "Agence de Nancy"}
    assert data["par_code"] == {"CD54-NANCY": 2}
