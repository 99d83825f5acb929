"""Run the Telegram adapter with the stand-in echo dialogue in its own process (for restart tests).

    python -m tests.telegram_runner DB_PATH BASE_URL

The token comes from AIGUILLAGE_TELEGRAM_TOKEN; SIGTERM/SIGINT stop it cleanly, SIGKILL does not.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from adapters.base import AdapterContext
from adapters.telegram import create
from bot.dispatcher import Dispatcher
from bot.store import Store
from tests.telegram_harness import EchoDialogue


async def main(db: Path, base_url: str) -> None:
    dialogue = EchoDialogue()
    async with Store.open(db) as store:
        context = AdapterContext(
            Dispatcher(store, lambda: dialogue), store, {"base_url": base_url, "poll_timeout": 5},
            str(db.parent),
        )  # fmt: skip
        adapter = create(context)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await adapter.run(stop)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
