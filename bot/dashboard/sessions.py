"""Admin sessions: a random id in a signed cookie, the session itself kept in memory.

The cookie carries only the session id, signed with a key drawn at start-up (itsdangerous), so a
forged or altered cookie is refused before any look-up; a restart logs everyone out. Each session
has its own CSRF token (checked on every POST) and an absolute expiry. The login form, which has
no session yet, is protected by a double-submit pair: a random nonce in a cookie and its HMAC in
the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from itsdangerous import BadSignature, Signer

SESSION_COOKIE = "aiguillage_session"
LOGIN_COOKIE = "aiguillage_connexion"


@dataclass(frozen=True, slots=True)
class Flash:
    """A message shown once on the next page: `ok` (green) or `erreur` (red)."""

    kind: str
    text: str
    details: str = ""


@dataclass(slots=True)
class Session:
    id: str
    login: str
    csrf: str
    expires_at: float
    flashes: list[Flash] = field(default_factory=list)

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())

    def pop_flashes(self) -> list[Flash]:
        flashes, self.flashes = self.flashes, []
        return flashes


class Sessions:
    """Open, find and close sessions; expired ones are forgotten."""

    def __init__(
        self,
        lifetime_s: float,
        *,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lifetime_s = lifetime_s
        self._secret = secret or secrets.token_bytes(32)
        self._signer = Signer(self._secret, salt="aiguillage-dashboard-session")
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def open(self, login: str) -> tuple[Session, str]:
        """A new session for `login` and the cookie value that names it."""
        self._forget_expired()
        session = Session(
            id=secrets.token_urlsafe(32),
            login=login,
            csrf=secrets.token_urlsafe(32),
            expires_at=self._clock() + self.lifetime_s,
        )
        self._sessions[session.id] = session
        return session, self._signer.sign(session.id).decode()

    def find(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            session_id = self._signer.unsign(cookie).decode()
        except BadSignature:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            del self._sessions[session_id]
            return None
        return session

    def close(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def __len__(self) -> int:
        return len(self._sessions)

    # --- the login form's double-submit token -----------------------------------------------

    def login_nonce(self) -> str:
        return secrets.token_urlsafe(24)

    def login_token(self, nonce: str) -> str:
        """What the login form carries for the nonce in the browser's cookie."""
        return hmac.new(self._secret, f"login:{nonce}".encode(), hashlib.sha256).hexdigest()

    def login_token_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.login_token(nonce).encode(), token.encode())

    def _forget_expired(self) -> None:
        now = self._clock()
        for session_id in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[session_id]
