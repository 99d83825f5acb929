"""The files beside the database: private modes, the one-writer lock, the pseudonym key.

For a database `var/aiguillage.db`:
- `var/` is created 0700; the database, its `-wal` and `-shm` are 0600 (SQLite gives the journal
  files the database's own mode, so creating the database 0600 is enough; older files are
  tightened when opened);
- `var/aiguillage.db.lock` is held with `flock` by the one process that writes (the bot); the
  kernel releases it when that process ends, even killed, so it never goes stale;
- `var/aiguillage.key` (0600) holds the pseudonym key: 32 random bytes from `secrets`, in hex.
  It is kept apart from the database so that the database alone cannot tie a pseudonym back to
  a platform id. Back it up separately: without it, nobody finds their conversation again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from bot import store_errors

log = logging.getLogger(__name__)

KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class DatabaseFiles:
    database: Path

    @property
    def key(self) -> Path:
        return self.database.with_name(self.database.stem + ".key")

    @property
    def lock(self) -> Path:
        return self.database.with_name(self.database.name + ".lock")

    @property
    def companions(self) -> tuple[Path, ...]:
        """The database and the journal files SQLite keeps beside it."""
        name = self.database.name
        return (
            self.database,
            self.database.with_name(name + "-wal"),
            self.database.with_name(name + "-shm"),
        )

    def prepare(self) -> None:
        """Create the folder (0700) and the database file (0600); refuse a read-only place."""
        folder = self.database.parent
        try:
            if not folder.exists():
                folder.mkdir(parents=True, mode=0o700)
                folder.chmod(0o700)  # mkdir's mode is filtered by the umask
            elif stat.S_IMODE(folder.stat().st_mode) & 0o077:
                log.warning(
                    "le dossier de la base est accessible à d'autres comptes (chmod 700 %s) / "
                    "the database folder is open to other accounts",
                    folder,
                )
            if not os.access(folder, os.W_OK):
                raise store_errors.read_only(self.database)
            if not self.database.exists():
                os.close(os.open(self.database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            elif not os.access(self.database, os.W_OK):
                raise store_errors.read_only(self.database)
            for path in self.companions:
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_IMODE(path.stat().st_mode) & 0o077:
                        path.chmod(0o600)
        except OSError as exc:
            raise store_errors.from_os(exc, self.database) from exc

    def lock_writer(self) -> WriterLock:
        """Hold the one-writer lock, or raise the StoreError that names who holds it."""
        try:
            fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise store_errors.from_os(exc, self.database) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            raise store_errors.in_use(self.database, holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return WriterLock(fd)

    def read_key(self) -> bytes | None:
        try:
            text = self.key.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise store_errors.key_unreadable(self.key) from exc
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise store_errors.key_unreadable(self.key)
        return key

    def write_key(self, key: bytes) -> None:
        """Write the key 0600, whole or not at all (a temporary file, then a hard link)."""
        temporary = self.key.with_name(f".{self.key.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, key.hex().encode("ascii") + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            os.link(temporary, self.key)  # fails if a key appeared meanwhile: never overwrite
        except OSError as exc:
            raise store_errors.from_os(exc, self.database) from exc
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink()


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class WriterLock:
    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
