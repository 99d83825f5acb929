"""Live reload: a serving bot watches its knowledge folder and reloads when a YAML file changes.

`watchfiles` (Rust `notify`: inotify on Linux) reports changes from a worker thread. They are
grouped until the files have been quiet for `quiet_ms` (an editor saves in several steps, a
`git pull` changes many files), then `reload()` runs: the same reload as SIGHUP and
`aiguillage reload` (`bot.cli_serve.reload_knowledge`), so a change that fails the check is
refused and the last good version keeps serving, the turns go on meanwhile, and the report
reaches the admins. Changes made during a reload make one more reload after it.

Only YAML files count: the compiled cache (`.cache/`) and every hidden file or folder, editors'
temporary files and the gazetteer (which needs a restart) are ignored. A folder that cannot be
watched (missing, or the system's limit of watches reached) is logged once; the bot keeps
serving and still reloads on SIGHUP.

Logs name the changed files (paths inside the knowledge folder, never their content).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Final

from watchfiles import Change, awatch

log = logging.getLogger(__name__)

KNOWLEDGE_SUFFIXES: Final = (".yaml", ".yml")
MAX_SHOWN: Final = 5


def is_knowledge_file(directory: Path, path: str) -> bool:
    """Whether a change of `path` (inside `directory`) changes the knowledge base."""
    try:
        parts = Path(path).relative_to(directory).parts
    except ValueError:
        return False
    if not parts or any(part.startswith((".", "~", "#")) for part in parts):
        return False
    return parts[-1].endswith(KNOWLEDGE_SUFFIXES)


class KnowledgeWatcher:
    """Watches `directory` and calls `reload` after each quiet group of changes."""

    def __init__(
        self, directory: Path, reload: Callable[[], Awaitable[object]], *, quiet_ms: int
    ) -> None:
        self.directory = directory.resolve()
        self.reload = reload
        self.quiet_ms = quiet_ms
        self.reloads = 0

    def _wanted(self, change: Change, path: str) -> bool:
        return is_knowledge_file(self.directory, path)

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set; never raises (a failed watch is logged, once)."""
        try:
            async for changes in awatch(
                self.directory,
                watch_filter=self._wanted,
                step=self.quiet_ms,
                debounce=max(2_000, 4 * self.quiet_ms),  # longest group of changes
                stop_event=stop,
                rust_timeout=1_000,
                recursive=True,
            ):
                if stop.is_set():
                    return
                log.info("knowledge base: %s changed, reloading", self._shown(changes))
                self.reloads += 1
                await self.reload()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the bot keeps serving; SIGHUP still reloads
            log.warning(
                "knowledge base: %s cannot be watched (%s: %s); live reload is off, "
                "`aiguillage reload` still works",
                self.directory.name,
                type(exc).__name__,
                exc,
            )

    def _shown(self, changes: set[tuple[Change, str]]) -> str:
        names = sorted({Path(path).relative_to(self.directory).as_posix() for _, path in changes})
        shown = ", ".join(names[:MAX_SHOWN])
        return shown + (f" and {len(names) - MAX_SHOWN} more" if len(names) > MAX_SHOWN else "")


@contextlib.asynccontextmanager
async def watching(
    directory: Path,
    reload: Callable[[], Awaitable[object]],
    *,
    enabled: bool = True,
    quiet_ms: int = 300,
) -> AsyncIterator[KnowledgeWatcher | None]:
    """Watch `directory` while the block runs (nothing when not `enabled`)."""
    if not enabled:
        yield None
        return
    watcher = KnowledgeWatcher(directory, reload, quiet_ms=quiet_ms)
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop), name="knowledge-watch")
    await asyncio.sleep(0)  # the watch starts (its inotify watches are set) before serving
    log.debug("knowledge base: watching %s for changes", watcher.directory)
    try:
        yield watcher
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
