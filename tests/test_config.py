"""config.example.yaml documents every setting, and every setting in it is accepted."""

from __future__ import annotations

from pathlib import Path

from adapters.matrix import MatrixSettings
from adapters.telegram import TelegramSettings
from bot.config import load_config

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.yaml"


def test_the_example_configuration_is_valid_for_the_core_and_every_adapter() -> None:
    config = load_config(EXAMPLE)
    assert config.departement == "54"
    assert config.knowledge.name == "knowledge"
    telegram = TelegramSettings.parse(
        config.adapters["telegram"], env={"AIGUILLAGE_TELEGRAM_TOKEN": "123:abc"}
    )
    assert telegram.poll_timeout == 25
    matrix = MatrixSettings.parse(
        config.adapters["matrix"], {"AIGUILLAGE_MATRIX_PASSWORD": "secret"}
    )
    assert matrix.user_id == "@aiguillage:example.org"
