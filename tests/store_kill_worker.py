"""A process for the kill test: handles `event person text` lines through the real dispatcher and
store, printing `event<TAB>reply` once the turn is committed, then confirming it sent.

    python -m tests.store_kill_worker DB
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.dispatcher import Dispatcher, StepResult
from bot.messages import Incoming, Reply, Turn
from bot.store import Store


class CountingDialogue:
    def step(self, state: dict[str, Any] | None, incoming: Incoming) -> StepResult:
        count = int((state or {}).get("count", 0)) + 1
        return StepResult(Turn([Reply(f"{incoming.conversation} message {count}")]),
                          {"count": count})  # fmt: skip

    def personal_data_reply(self, data: dict[str, Any], state: dict[str, Any] | None) -> Reply:
        return Reply("données")

    def failure_reply(self, state: dict[str, Any] | None) -> Reply:
        return Reply("désolé")


async def serve(db: Path) -> None:
    async with Store.open(db) as store:
        dispatcher = Dispatcher(store, CountingDialogue)
        print("ready", flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            event, person, text = line.rstrip("\n").split(" ", 2)
            incoming = Incoming("test", person, event, text=text)
            turn = await dispatcher.handle(incoming)
            reply = turn.replies[0].text if turn.replies else ""
            print(f"{event}\t{reply}", flush=True)
            await dispatcher.confirm_sent(incoming)


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
