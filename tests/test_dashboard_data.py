"""The dashboard on the bot's database: an older schema is brought up to date, nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.dashboard.data import DashboardData, DatabaseMissing, departement_of
from bot.store import MIGRATIONS


async def test_a_database_from_before_the_dashboard_is_migrated_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ancienne.db"
    with sqlite3.connect(path) as db:
        db.executescript(f"{MIGRATIONS[0]} PRAGMA user_version = 1;")
        db.execute(
            "INSERT INTO unanswered (at, key, departement, text) VALUES (1, 'k', '54', 'bonjour')"
        )
    async with DashboardData.open(path) as data:
        assert await data.mark_handled([1], now=2.0) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        row = db.execute("SELECT text, handled_at, handled_faq FROM unanswered").fetchone()
        assert row == ("bonjour", 2.0, None)
        indexes = {r[1] for r in db.execute("PRAGMA index_list(usage_events)")}
        assert "usage_referral" in indexes


async def test_a_missing_database_is_named_not_created(tmp_path: Path) -> None:
    with pytest.raises(DatabaseMissing, match=r"absente\.db n'existe pas"):
        async with DashboardData.open(tmp_path / "absente.db"):
            pass
    assert not (tmp_path / "absente.db").exists()


def test_the_departement_of_a_commune_code() -> None:
    assert departement_of("54395") == "54"
    assert departement_of("2A004") == "2A"
    assert departement_of("97411") == "974"
    assert departement_of(None) is None and departement_of("54") is None
