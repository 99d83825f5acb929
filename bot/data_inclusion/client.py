"""A small client for the data·inclusion API v1 (`/api/v1/structures`, `/api/v1/services`).

The API pages its lists (`page`, `size`; answers `{items, total, page, size, pages}`) and wants a
bearer token. Transient failures (429, 5xx, timeouts, dropped connections) are retried with
exponential backoff and full jitter, honouring `Retry-After`; the policy is data. The token never
appears in a message or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp

from bot.data_inclusion.files import RawRecord, SourceError

log = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.data.inclusion.gouv.fr"
TOKEN_VARIABLE: Final = "AIGUILLAGE_DATA_INCLUSION_TOKEN"
_RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first one included
    base_delay: float = 1.0  # seconds before the first retry (before jitter)
    max_delay: float = 30.0
    multiplier: float = 2.0

    def delay(self, retry: int, rng: random.Random, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(max, base × multiplier^retry)]; Retry-After wins."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * self.multiplier**retry)
        return rng.uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True)
class Timeouts:
    total: float = 120.0
    connect: float = 15.0
    read: float = 60.0

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect, sock_read=self.read)


@dataclass(frozen=True, slots=True)
class Filters:
    """The list filters this import uses (both are accepted by the API)."""

    code_departement: str | None = None
    code_commune: str | None = None

    def params(self) -> dict[str, str]:
        found = {"code_departement": self.code_departement, "code_commune": self.code_commune}
        return {k: v for k, v in found.items() if v}


@dataclass(slots=True)
class ApiClient:
    """Reads lists and single structures from the API. Use as `async with ApiClient(...)`."""

    base_url: str
    token: str | None
    page_size: int = 1000
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _session: aiohttp.ClientSession | None = None
    requests: int = 0  # counted, for the report and the tests

    async def __aenter__(self) -> ApiClient:
        headers = {"Accept": "application/json", "User-Agent": "aiguillage-import"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=self.timeouts.client_timeout()
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def api_root(self) -> str:
        root = self.base_url.rstrip("/")
        return root if root.endswith("/api/v1") else f"{root}/api/v1"

    async def records(self, endpoint: str, filters: Filters) -> AsyncIterator[RawRecord]:
        """Every item of a paged list (`structures` or `services`), page after page."""
        page, pages = 1, 1
        while page <= pages:
            params = {**filters.params(), "page": str(page), "size": str(self.page_size)}
            body = await self._get_json(f"/{endpoint}", params)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise SourceError(
                    f"API /{endpoint} page {page} : réponse inattendue (pas de liste « items »)."
                )
            for number, item in enumerate(items, start=1):
                where = f"API /{endpoint} page {page}, fiche {number}"
                yield RawRecord(where, item if isinstance(item, dict) else {})
            pages = _int(body.get("pages"), page)
            if not items:
                break
            page += 1

    async def structure(self, structure_id: str) -> RawRecord | None:
        """One structure by id (`/structures/{id}`), None when the API does not know it."""
        body = await self._get_json(f"/structures/{structure_id}", {}, missing_ok=True)
        if not isinstance(body, dict):
            return None
        return RawRecord(f"API /structures/{structure_id}", body)

    async def _get_json(
        self, path: str, params: Mapping[str, str], *, missing_ok: bool = False
    ) -> Any:
        assert self._session is not None, "use ApiClient with `async with`"
        url = f"{self.api_root}{path}"
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            retry_after: float | None = None
            self.requests += 1
            try:
                async with self._session.get(url, params=params) as response:
                    if response.status == 200:
                        try:
                            return await response.json(content_type=None)
                        except ValueError as error:
                            raise SourceError(f"API {path} : réponse JSON illisible.") from error
                    if response.status == 404 and missing_ok:
                        return None
                    if response.status in (401, 403):
                        raise SourceError(_auth_message(response.status, bool(self.token)))
                    if response.status not in _RETRIED_STATUSES or last:
                        detail = (await response.text())[:300]
                        raise SourceError(
                            f"API {path} : erreur {response.status} ({detail.strip()})."
                        )
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                    reason = f"erreur {response.status}"
            except (
                aiohttp.ClientConnectionError,
                aiohttp.ClientPayloadError,
                TimeoutError,
            ) as error:
                if last:
                    raise SourceError(
                        f"API {path} : serveur injoignable après {self.retry.attempts} essais "
                        f"({type(error).__name__})."
                    ) from error
                reason = type(error).__name__
            wait = self.retry.delay(attempt, self.rng, retry_after)
            log.info("data·inclusion %s: %s, new try in %.1f s", path, reason, wait)
            await self.sleep(wait)
        raise SourceError(f"API {path} : aucun essai possible.")  # attempts < 1


def _auth_message(status: int, has_token: bool) -> str:
    if not has_token:
        return (
            f"L'API data·inclusion refuse l'accès ({status}) : aucun jeton. Mettez votre jeton "
            f"dans la variable d'environnement {TOKEN_VARIABLE}. / Access refused: no token."
        )
    return (
        f"L'API data·inclusion refuse le jeton ({status}) : vérifiez la variable "
        f"{TOKEN_VARIABLE}. / Access refused: check the token."
    )


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: the backoff applies


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and value >= 0 else default
