"""Per-chat lanes: the events of one chat handled in order, chats concurrently, nobody waiting
for anyone else.

An adapter pushes events as they arrive; each chat with events waiting has one worker task that
handles them one after the other (under a shared limit on how many chats run at once). A chat
slowed down (someone writing very fast, or a platform's per-chat send limit) holds back only
itself. `room()` waits while too many events are waiting, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

E = TypeVar("E")

log = logging.getLogger(__name__)

MAX_WAITING = 2_000  # events waiting in all lanes before the adapter stops fetching more


class Lanes(Generic[E]):
    """`handle(event)` returns False when it was stopped before finishing: the lane then stops
    and keeps the event (the adapter will find it again at the next start); `done(event)` is
    called after each event handled."""

    def __init__(
        self,
        handle: Callable[[E], Awaitable[bool]],
        done: Callable[[E], Awaitable[None]],
        concurrency: int,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._handle = handle
        self._done = done
        self._limit = asyncio.Semaphore(concurrency)
        self._max_waiting = max_waiting
        self._lanes: dict[Hashable, deque[E]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._waiting = 0
        self._changed = asyncio.Event()

    @property
    def waiting(self) -> int:
        return self._waiting

    def push(self, lane: Hashable, event: E) -> None:
        queue = self._lanes.get(lane)
        self._waiting += 1
        if queue is not None:
            queue.append(event)
            return
        self._lanes[lane] = deque([event])
        worker = asyncio.ensure_future(self._work(lane))
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def room(self) -> None:
        """Wait until fewer than `max_waiting` events are waiting."""
        while self._waiting >= self._max_waiting:
            self._changed.clear()
            await self._changed.wait()

    async def join(self) -> None:
        """Wait for every lane to finish (or stop)."""
        while self._workers:
            await asyncio.gather(*list(self._workers), return_exceptions=True)

    async def _work(self, lane: Hashable) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                event = queue[0]
                async with self._limit:
                    handled = await self._handle(event)
                if not handled:
                    return
                queue.popleft()
                self._waiting -= 1
                self._changed.set()
                with contextlib.suppress(Exception):  # the event is answered: never block on it
                    await self._done(event)
        except Exception as exc:  # handle() keeps its own errors; this is a bug: the lane stops
            log.error("a lane stopped (%s); its events wait for the next start", type(exc).__name__)
        finally:
            if self._lanes.get(lane) is queue:
                self._waiting -= len(queue)
                del self._lanes[lane]
                self._changed.set()
