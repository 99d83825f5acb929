"""What can go wrong with the database file, said clearly (French first, then English).

Every problem an admin can fix (a read-only or full disk, a corrupted file, a database from a
newer version, a second instance, a lost pseudonym key) becomes one `StoreError` whose message
says what happened and the way out. The CLI prints it without a traceback. Errors that are bugs
(a wrong SQL statement) are not translated: they keep their traceback.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class StoreError(RuntimeError):
    """The database cannot be used as it is; the message says why and what to do."""


def read_only(path: Path) -> StoreError:
    return StoreError(
        f"La base de données {path} est en lecture seule : Aiguillage ne peut pas y écrire. "
        "Donnez les droits d'écriture sur le fichier et sur son dossier (chmod u+w), ou indiquez "
        "une autre base avec --db.\n"
        f"The database {path} is read-only. Make the file and its folder writable, or give "
        "another database with --db."
    )


def disk_full(path: Path) -> StoreError:
    return StoreError(
        f"Le disque est plein : la base {path} ne peut plus grandir. Rien n'a été enregistré pour "
        "ce message. Libérez de la place sur le disque, puis relancez Aiguillage.\n"
        f"The disk is full: the database {path} cannot grow. Nothing was saved for this message. "
        "Free some disk space, then start Aiguillage again."
    )


def corrupted(path: Path) -> StoreError:
    return StoreError(
        f"Le fichier {path} n'est pas une base Aiguillage lisible (abîmé, ou d'un autre type). "
        "Restaurez la dernière sauvegarde, ou déplacez ce fichier pour repartir d'une base neuve.\n"
        f"The file {path} is not a readable Aiguillage database (damaged, or another kind of "
        "file). Restore the last backup, or move the file away to start with a new database."
    )


def newer_schema(path: Path, found: int, known: int) -> StoreError:
    return StoreError(
        f"La base {path} vient d'une version plus récente d'Aiguillage (schéma {found} ; cette "
        f"version connaît jusqu'au schéma {known}). Elle n'est pas utilisée, pour ne rien abîmer. "
        "Mettez Aiguillage à jour, ou utilisez une sauvegarde faite avec cette version.\n"
        f"The database {path} comes from a newer Aiguillage (schema {found}; this version knows "
        f"up to {known}). It is left untouched. Upgrade Aiguillage, or use a backup made with "
        "this version."
    )


def in_use(path: Path, pid: str) -> StoreError:
    who = f" (processus {pid})" if pid else ""
    return StoreError(
        f"Un autre Aiguillage{who} utilise déjà la base {path}. Un seul programme à la fois peut "
        "y écrire, sinon des réponses se perdraient. Arrêtez l'autre, ou donnez une autre base "
        "avec --db.\n"
        f"Another Aiguillage{who.replace('processus', 'process')} already uses the database "
        f"{path}. Only one program may write to it at a time. Stop the other one, or give another "
        "database with --db."
    )


def busy(path: Path, seconds: float) -> StoreError:
    return StoreError(
        f"La base {path} est occupée par un autre programme depuis plus de {seconds:.0f} secondes. "
        f"Réessayez dans un instant ; si cela dure, cherchez qui l'utilise (fuser {path}).\n"
        f"The database {path} has been busy (used by another program) for more than "
        f"{seconds:.0f} seconds. Try again; if it lasts, find who uses it (fuser {path})."
    )


def cannot_open(path: Path, reason: str) -> StoreError:
    return StoreError(
        f"Impossible d'ouvrir la base {path} ({reason}). Vérifiez que le dossier existe et que "
        "vous avez le droit d'y écrire, ou indiquez une autre base avec --db.\n"
        f"Cannot open the database {path} ({reason}). Check that the folder exists and is "
        "writable, or give another database with --db."
    )


def key_missing(path: Path, key_file: Path) -> StoreError:
    return StoreError(
        f"La clé de pseudonymisation {key_file} est introuvable, alors que la base {path} contient "
        "des conversations : sans elle, personne ne retrouverait sa conversation. Remettez ce "
        "fichier à sa place (depuis la sauvegarde), ou déplacez la base pour repartir de zéro.\n"
        f"The pseudonym key {key_file} is missing but the database {path} holds conversations: "
        "without it nobody would find their conversation again. Put the file back (from your "
        "backup), or move the database away to start afresh."
    )


def key_unreadable(key_file: Path) -> StoreError:
    return StoreError(
        f"La clé de pseudonymisation {key_file} est illisible (64 caractères hexadécimaux "
        "attendus). Remettez le bon fichier depuis la sauvegarde.\n"
        f"The pseudonym key {key_file} is unreadable (64 hexadecimal characters expected). "
        "Restore the right file from your backup."
    )


def key_conflict(path: Path, key_file: Path) -> StoreError:
    return StoreError(
        f"La base {path} contient encore une ancienne clé de pseudonymisation, différente de "
        f"celle du fichier {key_file}. Les deux ne vont pas ensemble : remettez la clé qui "
        "accompagne cette base, ou utilisez la base qui va avec cette clé.\n"
        f"The database {path} still holds an old pseudonym key that differs from {key_file}. "
        "They do not belong together: restore the matching key or database."
    )


def from_sqlite(exc: sqlite3.Error, path: Path, busy_wait_s: float = 15) -> StoreError | None:
    """The clear message for an SQLite error an admin can fix; None for a bug."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    if primary == sqlite3.SQLITE_READONLY or "readonly" in text:
        return read_only(path)
    if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
        return disk_full(path)
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "not a database" in text:
        return corrupted(path)
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text:
        return busy(path, busy_wait_s)
    if primary == sqlite3.SQLITE_CANTOPEN:
        return cannot_open(path, str(exc))
    if primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM):
        return cannot_open(path, str(exc))
    return None


def from_os(exc: OSError, path: Path) -> StoreError:
    """The clear message for a file-system error on the database's files."""
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return read_only(path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(path)
    return cannot_open(path, exc.strerror or type(exc).__name__)
