"""Importing from the data·inclusion API: a local server on 127.0.0.1 serves the sample records
with the API's paging (`page`, `size` → `{items, total, page, size, pages}`), its bearer token
check, its département filter, and a 500 and a 429 once each to exercise the retries."""

from __future__ import annotations

import asyncio
import math
import os
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.data_inclusion.client import ApiClient, Filters, RetryPolicy, Timeouts
from bot.data_inclusion.files import SourceError
from bot.data_inclusion.gather import Scope
from bot.data_inclusion.run import Importer, ImportRequest
from bot.places import Gazetteer
from tests.data_inclusion_support import TODAY, copy_knowledge, imported_file, run_import, sample

TOKEN = "jeton-de-test"
ROOT = Path(__file__).resolve().parents[1]
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


class FakeApi:
    """The API's list and detail routes over the sample records."""

    def __init__(self) -> None:
        self.structures = sample("structures-inclusion-2026-11-24.json")
        self.services = sample("services-inclusion-2026-11-24.json")
        self.calls: Counter[str] = Counter()
        self.faults = {("structures", 1): 500, ("services", 2): 429}
        self.slow = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/structures", self.list_structures)
        app.router.add_get("/api/v1/services", self.list_services)
        app.router.add_get("/api/v1/structures/{id}", self.one_structure)
        return app

    def _authorised(self, request: web.Request) -> None:
        header = request.headers.get("Authorization")
        if header is None:
            raise web.HTTPUnauthorized(text='{"detail": "Not authenticated"}')
        if header != f"Bearer {TOKEN}":
            raise web.HTTPForbidden(text='{"detail": "Forbidden"}')

    async def _page(
        self, request: web.Request, kind: str, items: list[dict[str, Any]]
    ) -> web.Response:
        self._authorised(request)
        page, size = int(request.query.get("page", "1")), int(request.query.get("size", "5000"))
        self.calls[f"{kind}:{page}"] += 1
        fault = self.faults.pop((kind, page), None)
        if fault == 429:
            return web.json_response(
                {"detail": "Too Many Requests"}, status=429, headers={"Retry-After": "0"}
            )
        if fault is not None:
            return web.json_response({"detail": "Internal Server Error"}, status=fault)
        if self.slow:
            await asyncio.sleep(1)
        departement = request.query.get("code_departement")
        chosen = [
            r
            for r in items
            if departement is None or str(r.get("code_insee", departement)).startswith(departement)
        ]
        window = chosen[(page - 1) * size : page * size]
        pages = math.ceil(len(chosen) / size)
        return web.json_response(
            {
                "items": window,
                "total": len(chosen),
                "page": page,
                "size": len(window),
                "pages": pages,
            }
        )

    async def list_structures(self, request: web.Request) -> web.Response:
        return await self._page(request, "structures", self.structures)

    async def list_services(self, request: web.Request) -> web.Response:
        return await self._page(request, "services", self.services)

    async def one_structure(self, request: web.Request) -> web.Response:
        self._authorised(request)
        self.calls[f"structure:{request.match_info['id']}"] += 1
        for record in self.structures:
            if record["id"] == request.match_info["id"]:
                return web.json_response(record)
        raise web.HTTPNotFound()


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeApi, str]]:
    fake = FakeApi()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("/"))
    finally:
        await server.close()


async def test_the_client_reads_every_page_and_retries_after_500_and_429(
    api: tuple[FakeApi, str],
) -> None:
    fake, url = api
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with ApiClient(
        url, TOKEN, page_size=4, retry=FAST, rng=random.Random(1), sleep=sleep
    ) as client:
        services = [r async for r in client.records("services", Filters())]
        structures = [r async for r in client.records("structures", Filters("54"))]
    assert [r.data["id"] for r in services] == [s["id"] for s in fake.services]
    assert fake.calls["services:1"] == 1 and fake.calls["services:2"] == 2  # 429 once, then ok
    assert fake.calls["services:3"] == 1 and "services:4" not in fake.calls
    assert fake.calls["structures:1"] == 2  # 500 once, then ok
    assert all(s["code_insee"].startswith("54") for s in (r.data for r in structures))
    assert waits[0] == 0.0  # Retry-After: 0 is honoured
    assert 0.0 <= waits[1] <= FAST.base_delay  # full jitter within the first backoff step
    assert services[0].where == "API /services page 1, fiche 1"


async def test_without_the_token_the_admin_is_told_which_variable_to_set(
    api: tuple[FakeApi, str],
) -> None:
    _, url = api
    async with ApiClient(url, None, retry=FAST) as client:
        with pytest.raises(SourceError) as refused:
            [r async for r in client.records("services", Filters("54"))]
    assert "401" in str(refused.value) and "AIGUILLAGE_DATA_INCLUSION_TOKEN" in str(refused.value)
    async with ApiClient(url, "mauvais", retry=FAST) as client:
        with pytest.raises(SourceError) as wrong:
            [r async for r in client.records("services", Filters("54"))]
    assert "403" in str(wrong.value) and "mauvais" not in str(wrong.value)


async def test_a_server_that_never_answers_in_time_gives_a_clear_error(
    api: tuple[FakeApi, str],
) -> None:
    fake, url = api
    fake.slow, fake.faults = True, {}
    timeouts = Timeouts(total=0.3, connect=0.3, read=0.2)
    async with ApiClient(
        url, TOKEN, retry=RetryPolicy(attempts=2, base_delay=0.01), timeouts=timeouts
    ) as client:
        with pytest.raises(SourceError) as error:
            [r async for r in client.records("services", Filters("54"))]
    assert "injoignable après 2 essais" in str(error.value)
    assert fake.calls["services:1"] == 2


async def test_an_api_import_writes_the_same_records_as_the_open_data_files(
    api: tuple[FakeApi, str], tmp_path: Path, gazetteer: Gazetteer
) -> None:
    fake, url = api
    from_api = copy_knowledge(tmp_path / "api")
    request = ImportRequest(from_api, Scope("54"), "Meurthe-et-Moselle", today=TODAY)
    async with ApiClient(url, TOKEN, page_size=3, retry=FAST) as client:
        result = await Importer(request, gazetteer).from_api(client)
    assert result.ok, result.errors
    assert fake.calls["structure:dora--auto-ecole-metz"] == 1  # its structure is in Moselle
    from_files = copy_knowledge(tmp_path / "files")
    run_import(from_files, gazetteer)

    def records(knowledge: Path) -> Any:
        data = yaml.safe_load(imported_file(knowledge).read_text(encoding="utf-8"))
        return {k: data[k] for k in ("structures", "services", "orienteurs")}

    assert records(from_api) == records(from_files)
    assert "API http://127.0.0.1" in imported_file(from_api).read_text(encoding="utf-8")


async def test_the_command_imports_from_the_api_with_the_token_from_the_environment(
    api: tuple[FakeApi, str], tmp_path: Path
) -> None:
    _, url = api
    knowledge = copy_knowledge(tmp_path / "knowledge")
    env = {**os.environ, "AIGUILLAGE_DATA_INCLUSION_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "import", "data-inclusion", url,
        "--departement", "54", "--knowledge", str(knowledge),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "13 ajoutée(s)" in text and "Vérification : la base de connaissances est valide" in text
    assert TOKEN not in text and TOKEN not in err.decode()
    assert imported_file(knowledge).exists()
