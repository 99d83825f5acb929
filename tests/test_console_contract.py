"""The adapter contract (tests/adapter_contract.py) on the console adapter's JSON-lines mode."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.console import serve_jsonl
from bot.store import Store
from tests.adapter_contract import AdapterContract, Delivered, Journal, RecordingDispatcher


@dataclass
class ConsoleHarness:
    journal: Journal
    lines: asyncio.Queue[str | None]
    out: io.StringIO
    has_cursor: bool = False  # standard input has no cursor to advance
    read: int = 0

    async def say(self, text: str) -> list[Delivered]:
        await self.lines.put(json.dumps({"user": "u1", "text": text}))
        async with asyncio.timeout(10):
            while self.out.getvalue().count("\n") <= self.read:
                await asyncio.sleep(0.01)
        line = self.out.getvalue().splitlines()[self.read]
        self.read += 1
        return [
            Delivered(r["text"], None, [c["label"] for c in r.get("choices", [])])
            for r in json.loads(line)["replies"]
        ]

    def covers(self, cursor: str, event_id: str) -> bool:
        return False


class TestConsoleContract(AdapterContract):
    @pytest.fixture
    async def harness(self, tmp_path: Path) -> AsyncIterator[ConsoleHarness]:
        journal = Journal()
        out = io.StringIO()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        async def on_confirm(event_id: str) -> bool:
            answered = out.getvalue().count("\n")
            return answered == len(dispatcher.turns)  # this event's line is already written

        async def source() -> AsyncIterator[str]:
            while (line := await lines.get()) is not None:
                yield line

        async with Store.open(tmp_path / "a.db") as store:
            dispatcher = RecordingDispatcher(store, journal, on_confirm)
            task = asyncio.create_task(serve_jsonl(dispatcher, source(), out))
            yield ConsoleHarness(journal, lines, out)
            await lines.put(None)
            await task
