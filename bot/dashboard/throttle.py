"""The login rate limit: too many failures from one address, or for one login, wait a while.

Failures are counted in a sliding window, separately per client address and per login, so that
neither one machine guessing many logins nor many machines guessing one login get far. A success
clears that login's and that address's failures.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(
        self, max_failures: int, window_s: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, client: str, login: str) -> float:
        """Seconds to wait before the next try is even checked; 0 when allowed now."""
        now = self._clock()
        wait = 0.0
        for key in (f"ip:{client}", f"login:{login.casefold()}"):
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                wait = max(wait, times[0] + self.window_s - now)
        return wait

    def failed(self, client: str, login: str) -> None:
        now = self._clock()
        for key in (f"ip:{client}", f"login:{login.casefold()}"):
            self._recent(key, now).append(now)

    def succeeded(self, client: str, login: str) -> None:
        self._failures.pop(f"ip:{client}", None)
        self._failures.pop(f"login:{login.casefold()}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(self._failures) > 10_000:  # bounded memory under a flood of distinct keys
            for stale in [k for k, v in self._failures.items() if not v and k != key]:
                del self._failures[stale]
        return times
