"""Admin passwords: Argon2id hashes (argon2-cffi), never the password itself."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()  # RFC 9106 low-memory profile: Argon2id, t=3, m=64 MiB, p=4


@cache
def _dummy_hash() -> str:
    """Checked when the login is unknown, so that a wrong login costs what a wrong password does."""
    return _HASHER.hash("aiguillage: no such admin")


MIN_LENGTH = 12


class WeakPassword(ValueError):
    """The password is too short; the message says so in French, then English."""


def hash_password(password: str) -> str:
    """The line to paste as `password_hash` in config.yaml."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"Mot de passe trop court : {MIN_LENGTH} caractères au moins. "
            f"/ Password too short: at least {MIN_LENGTH} characters."
        )
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; always does the same work, known login or not."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
