"""Wiring: the gazetteer, the knowledge base, the store and the dispatcher, built once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import sys
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from bot.config import Config
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.flood import FloodControl
from bot.kb.cache import GAZETTEER_FILE, DeferredEntry, KnowledgeCache, paused_gc
from bot.kb.knowledge import KnowledgeBase, KnowledgeError, LoadReport
from bot.kb.loader import load_with_problems
from bot.memory import release_freed_memory
from bot.places import Gazetteer
from bot.staff.directory import StaffDirectory
from bot.staff.services import StaffServices
from bot.store import Store

log = logging.getLogger(__name__)


def knowledge_cache(directory: Path) -> KnowledgeCache:
    """The compiled cache of the knowledge base in `directory` (see `bot.kb.cache`)."""
    return KnowledgeCache.of_base(directory)


def log_report(report: LoadReport) -> None:
    """Tell admins, in the logs, what loading found (the texts are the base's, never a
    person's)."""
    level = logging.DEBUG if report.ok and not report.warnings else logging.WARNING
    log.log(level, "%s", report.summary())
    for code, problems in sorted(report.disabled.items()):
        log.warning("département %s disabled: %d error(s)", code, len(problems))
    for code, problems in sorted(report.kept.items()):
        log.warning("département %s: new files refused (%d error(s)), previous version kept",
                    code, len(problems))  # fmt: skip
    for problem in report.errors:
        log.warning("knowledge base error: %s", problem)
    for problem in report.warnings:
        log.info("knowledge base warning: %s", problem)


RELOAD_SWITCH_INTERVAL = 0.0005  # seconds; Python's default is 0.005


@contextmanager
def short_gil_turns() -> Iterator[None]:
    """While a reload runs in its thread, hand the GIL back to the event loop 10× more often.

    A thread that computes keeps the GIL for a whole switch interval whenever another thread
    asks for it: with the default 5 ms, a turn that hops between the event loop and the
    database thread a dozen times would wait a dozen times 5 ms. 0.5 ms keeps turns flowing.
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, RELOAD_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


RELEASE_SLICE = 1000  # records or places of a replaced base freed between two turns


class Built(NamedTuple):
    """A reload's new (base, dialogue), and what the pair it replaces holds most of."""

    current: tuple[KnowledgeBase, OrientationDialogue]
    replaced: list[object]  # see _records_and_places


def _records_and_places(pair: tuple[KnowledgeBase, OrientationDialogue]) -> list[object]:
    """The records of a base and the places of its dialogue: most of the objects that go when
    a reload replaces them. Held in a list, they can be freed a slice at a time; a record kept
    by the new base is only let go of."""
    knowledge, dialogue = pair
    parts: list[object] = []
    for spec in dataclasses.fields(knowledge):
        value = getattr(knowledge, spec.name)
        if isinstance(value, Mapping):
            parts.extend(value.values())
        elif isinstance(value, Collection) and not isinstance(value, str | bytes):
            parts.extend(value)
    parts.extend(dialogue.places())
    return parts


class KnowledgeHolder:
    """The knowledge base in force and the dialogue built on it; reload swaps both at once.

    A reload is built in a worker thread (the event loop keeps answering) with the cyclic GC
    paused, reuses every file that did not change (`KnowledgeCache`), then replaces the pair
    (base, dialogue) in one assignment: a turn sees the old pair or the new one, never a mix.
    Shared files with errors never replace a good base: the last good version keeps serving.
    A département with errors is disabled, the others serve. Reloads run one at a time.
    """

    def __init__(
        self,
        config: Config,
        gazetteer: Gazetteer,
        knowledge: KnowledgeBase,
        *,
        cache: KnowledgeCache | None = None,
        staff: StaffDirectory | None = None,
    ) -> None:
        self._config = config
        self._staff = staff or StaffDirectory(config.conseillers)
        self._gazetteer = gazetteer
        self._cache = cache or KnowledgeCache(None)
        self._current = (knowledge, self._dialogue_for(knowledge))
        self._reloading = asyncio.Lock()
        self._writing: asyncio.Task[None] | None = None

    @property
    def current(self) -> KnowledgeBase:
        return self._current[0]

    @property
    def gazetteer(self) -> Gazetteer:
        return self._gazetteer

    def dialogue(self) -> OrientationDialogue:
        return self._current[1]

    async def reload(self, directory: Path | None = None) -> LoadReport:
        """Check and load the base again; returns what was found, for admins."""
        target = directory or self._config.knowledge
        async with self._reloading:
            await self.settled()  # the last reload's cache first: never an older entry after
            self._cache.defer_writes()
            build = asyncio.ensure_future(self._build_off_the_loop(target))
            built: Built | None = None
            try:
                built, report = await asyncio.shield(build)
            except asyncio.CancelledError:
                # A thread cannot be stopped: keep the lock until it ends (never two builds at
                # once), however often we are cancelled meanwhile, then write what it parsed,
                # and stop.
                while not build.done():
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await asyncio.shield(build)
                raise
            finally:  # what the build kept to write, even if it failed
                writes = self._cache.deferred_writes()
                replaced: list[object] = []
                if built is not None:
                    self._current, replaced = built.current, built.replaced
                self._writing = asyncio.create_task(self._settle(replaced, writes))
            log_report(report)
            return report

    async def _build_off_the_loop(self, directory: Path) -> tuple[Built | None, LoadReport]:
        with short_gil_turns():
            return await asyncio.to_thread(self._build, directory)

    async def _settle(self, replaced: list[object], entries: list[DeferredEntry]) -> None:
        """What a reload leaves to do once the new base serves, between turns: free the old
        base, write the compiled cache, give the memory back.

        The old base's records and places go a slice at a time (`replaced`): freed in one go,
        those of a base whose every record changed stalled the event loop 22–24 ms at national
        scale; what is left to free at the swap itself took 5–9 ms.

        The cache is written one file at a time. Each entry is encoded on the event loop: a turn
        waits for one file's encoding at most (a few ms). In a thread, the encoding would slow
        every turn of the new base while it runs (0.3 s of CPU at national scale). The bytes
        go to the disk from a worker thread: a slow or busy disk (one write took 55 ms at
        national scale, just after the files were saved) must not stall the turns. Entries
        are written in order, one at a time. The next reload and the bot's stop wait for it.
        """
        while replaced:
            del replaced[-RELEASE_SLICE:]  # at most 1 ms of freeing
            await asyncio.sleep(0)
        failed = 0
        loop = asyncio.get_running_loop()
        # Its own thread, not the default executor's: the builds run there and their memory
        # stays in that thread's allocator arena; sharing it, a build could land on a second
        # thread, and each thread's arena would keep its freed memory (+10 MB of peak RSS).
        disk = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="knowledge-cache")
        try:
            for entry in entries:
                await asyncio.sleep(0)  # first the turns that wait
                try:
                    data = entry.encode()
                except Exception:  # the cache only saves time: the bot serves without it
                    if not failed:
                        log.exception("compiled knowledge cache: an entry not written")
                    failed += 1
                    continue
                await loop.run_in_executor(disk, self._cache.store, entry.path, data)
            await loop.run_in_executor(disk, release_freed_memory)  # the old base's pages
        finally:
            disk.shutdown(wait=False)
        if failed > 1:
            log.warning("compiled knowledge cache: %d entries not written", failed)

    async def settled(self) -> None:
        """Wait until the last reload has freed the old base and written its compiled cache.

        A caller cancelled while it waits does not cancel that work (the next reload, or the
        bot's stop, waits for it in turn); work that was cancelled or failed counts as done:
        the cache only saves time."""
        writing = self._writing
        if writing is None:
            return
        try:
            await asyncio.shield(writing)
        except asyncio.CancelledError:
            if not writing.cancelled():
                raise  # the caller was cancelled, not the writing
        except Exception:
            log.exception("compiled knowledge cache: the writing after a reload failed")
        if self._writing is writing:
            self._writing = None

    def _build(self, directory: Path) -> tuple[Built | None, LoadReport]:
        with paused_gc():
            knowledge, report = load_with_problems(
                directory, self._gazetteer, cache=self._cache, keep_last_good=True
            )
            if knowledge is None:
                return None, report
            current = (knowledge, self._dialogue_for(knowledge, self._current[1]))
            return Built(current, _records_and_places(self._current)), report

    def _dialogue_for(
        self, knowledge: KnowledgeBase, earlier: OrientationDialogue | None = None
    ) -> OrientationDialogue:
        return OrientationDialogue(
            knowledge,
            self._gazetteer,
            self._config.dialogue,
            self._config.departement,
            staff=self._staff,
            earlier=earlier,
        )

    @property
    def staff(self) -> StaffDirectory:
        return self._staff


@dataclass(frozen=True, slots=True)
class App:
    config: Config
    gazetteer: Gazetteer
    knowledge: KnowledgeHolder
    store: Store
    dispatcher: Dispatcher
    staff: StaffServices | None = None  # outbox, call-backs, admins (bot/staff/services.py)


def load_static(
    config: Config, cache: KnowledgeCache | None = None
) -> tuple[Gazetteer, KnowledgeBase]:
    """Load the gazetteer and the knowledge base; raises KnowledgeError if it is invalid
    (the shared files have errors; a département with errors is only disabled)."""
    with paused_gc():
        gazetteer = Gazetteer.load(config.knowledge / GAZETTEER_FILE)
        knowledge, report = load_with_problems(config.knowledge, gazetteer, cache=cache)
        if knowledge is None:
            raise KnowledgeError(list(report.errors))
        log_report(report)
        gazetteer.warm_up(config.departement, cache)  # so that the first person does not wait
    return gazetteer, knowledge


def _start(config: Config, cache: KnowledgeCache) -> KnowledgeHolder:
    with paused_gc():  # then frozen: everything built here lives as long as the process
        gazetteer, knowledge = load_static(config, cache)
        holder = KnowledgeHolder(config, gazetteer, knowledge, cache=cache)
    release_freed_memory()  # what reading the base left behind
    return holder


@asynccontextmanager
async def open_app(config: Config) -> AsyncIterator[App]:
    holder = await asyncio.to_thread(_start, config, knowledge_cache(config.knowledge))
    async with Store.open(config.database) as store:
        await store.prune(callback_retention_s=config.conseillers.conservation_jours * 24 * 3600)
        holder.staff.refresh(await store.referrals())
        dispatcher = Dispatcher(store, holder.dialogue, flood=FloodControl())
        staff = StaffServices.build(config, store, holder.staff, lambda: holder.current)
        app = App(config, holder.gazetteer, holder, store, dispatcher, staff)
        staff.admins.reload = lambda: _reload_for_admins(app)
        try:
            yield app
        finally:
            await holder.settled()


async def _reload_for_admins(app: App) -> LoadReport | None:
    from bot.cli_serve import reload_knowledge

    return await reload_knowledge(app, "/reload", tell_admins=False)
