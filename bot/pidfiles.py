"""Pid files of running bots, so that `aiguillage reload` reaches every one of them.

Each serving process (console, JSON lines, Telegram, Matrix) writes `aiguillage-<mode>.pid` in
the data folder and holds an exclusive lock on it while it runs: a file nobody holds is stale,
whatever pid it names (a crashed bot, a recycled pid), and is never signalled. Telegram and
Matrix side by side have one file each; a second process of the same mode writes
`aiguillage-<mode>-<pid>.pid`. The files are 0600.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

PREFIX = "aiguillage"


@contextlib.contextmanager
def pid_file(folder: Path, mode: str) -> Iterator[Path]:
    """Write and lock this process's pid file for `mode` while the block runs."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (f"{PREFIX}-{mode}.pid", f"{PREFIX}-{mode}-{os.getpid()}.pid"):
        path = folder / name
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another running bot of the same mode holds it
            os.close(fd)
            continue
        try:
            os.fchmod(fd, 0o600)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield path
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)
        return
    raise RuntimeError(f"no pid file could be written in {folder}")  # pragma: no cover


def running_bots(folder: Path) -> dict[Path, int]:
    """The pid files of `folder` that a live process holds, with their pids."""
    found: dict[Path, int] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob(f"{PREFIX}*.pid")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # held: a bot is running
                text = os.read(fd, 64).decode(errors="replace").strip()
                if text.isdigit():
                    found[path] = int(text)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)  # nobody holds it: stale
        finally:
            os.close(fd)
    return found
