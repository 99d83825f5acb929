"""The reload-build benchmark runs the bot's own build on each edit of the start-up benchmark."""

from __future__ import annotations

import pytest

from bench.bench_reload_build import EDIT_NAMES, build_times
from bot.config import DEFAULT_KNOWLEDGE


@pytest.mark.parametrize("edit", sorted(EDIT_NAMES))
def test_each_edit_is_built_again_as_often_as_asked(edit: str) -> None:
    times = build_times(DEFAULT_KNOWLEDGE, 2, edit)
    assert len(times) == 2 and all(t > 0 for t in times)
