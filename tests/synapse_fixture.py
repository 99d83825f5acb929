"""A real Synapse on 127.0.0.1 for the Matrix tests, plus small helpers for beneficiary clients.

Import the fixture into a test module (`from tests.synapse_fixture import synapse_server`) and
ask for `synapse`.
It starts the homeserver installed by `scripts/synapse.sh install` on a free port, in a
temporary directory, once per test session, and stops it at the end. Without the install the
Matrix tests are skipped with a message naming the command.

Set AIGUILLAGE_SYNAPSE_URL to use an already running server (e.g. `scripts/synapse.sh start`;
its shared secret is then read from AIGUILLAGE_SYNAPSE_SECRET, default the script's).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nio
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "synapse.sh"
SYNAPSE_PYTHON = ROOT / ".synapse" / "venv" / "bin" / "python"
DEFAULT_SECRET = "aiguillage-test-shared-secret"
PASSWORD = "pw-" + "aiguillage-tests"


@dataclass
class Synapse:
    url: str
    secret: str

    @property
    def server_name(self) -> str:
        return "localhost"

    def register(self, prefix: str, admin: bool = False) -> tuple[str, str]:
        """A fresh user (unique name); returns (user_id, password)."""
        user_id, _ = self.register_with_token(prefix, admin)
        return user_id, PASSWORD

    def register_with_token(self, prefix: str, admin: bool = False) -> tuple[str, str]:
        """A fresh user (unique name); returns (user_id, access_token) for raw HTTP clients."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        with urllib.request.urlopen(endpoint, timeout=10) as resp:
            nonce = json.load(resp)["nonce"]
        mac = hmac.new(
            self.secret.encode(),
            b"\x00".join(
                [nonce.encode(), name.encode(), PASSWORD.encode(),
                 b"admin" if admin else b"notadmin"]
            ),
            hashlib.sha1,
        ).hexdigest()  # fmt: skip
        body = json.dumps(
            {"nonce": nonce, "username": name, "password": PASSWORD, "admin": admin, "mac": mac}
        ).encode()
        request = urllib.request.Request(endpoint, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            data = json.load(resp)
        return str(data["user_id"]), str(data["access_token"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_matrix/client/versions", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _pid(data: Path) -> int | None:
    try:
        return int((data / "homeserver.pid").read_text().strip())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="session", name="synapse")
def synapse_server() -> Iterator[Synapse]:
    external = os.environ.get("AIGUILLAGE_SYNAPSE_URL")
    if external:
        if not _ready(external):
            pytest.fail(f"AIGUILLAGE_SYNAPSE_URL={external} does not answer")
        yield Synapse(external, os.environ.get("AIGUILLAGE_SYNAPSE_SECRET", DEFAULT_SECRET))
        return
    if not SYNAPSE_PYTHON.exists():
        pytest.skip("Synapse is not installed: run `scripts/synapse.sh install` first")
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="aiguillage-synapse-"))
    data = workdir / "data"
    env = {
        **os.environ,
        "SYNAPSE_PORT": str(port),
        "SYNAPSE_DATA": str(data),
        "SYNAPSE_SHARED_SECRET": DEFAULT_SECRET,
    }
    # The SQLite file on tmpfs when there is one: Synapse is CPU- and commit-bound.
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        env["SYNAPSE_DB"] = str(shm / f"aiguillage-synapse-{port}.db")
    result = subprocess.run(
        [str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        pytest.fail(f"Synapse did not start:\n{result.stdout}\n{result.stderr}")
    # If this test process dies without cleaning up (SIGKILL, CI timeout), a watchdog stops
    # the server: it never outlives the tests.
    watchdog = subprocess.Popen(
        [
            "/bin/sh",
            "-c",
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; "
            f"kill -TERM {_pid(data)} 2>/dev/null; sleep 10; kill -KILL {_pid(data)} 2>/dev/null",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield Synapse(f"http://127.0.0.1:{port}", DEFAULT_SECRET)
    finally:
        watchdog.kill()
        watchdog.wait(5)
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=30)
        pid = _pid(data)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if "SYNAPSE_DB" in env:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    os.unlink(env["SYNAPSE_DB"] + suffix)
        shutil.rmtree(workdir, ignore_errors=True)


# --- beneficiaries: real nio clients -------------------------------------------------------------


@dataclass
class Received:
    event_id: str
    body: str
    formatted_body: str | None
    relates_to: dict[str, Any] | None
    at: float
    content: dict[str, Any] = field(default_factory=dict)  # the whole content, as sent


@dataclass
class Person:
    """A beneficiary with a real nio client that records what the bot sends it."""

    client: nio.AsyncClient
    user_id: str
    bot_id: str
    inbox: dict[str, list[Received]] = field(default_factory=dict)  # room id → messages
    _task: asyncio.Task[None] | None = None
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        check(await self.client.sync(timeout=0))
        self.client.add_event_callback(
            self._on_message, (nio.RoomMessageText, nio.RoomMessageUnknown, nio.MegolmEvent)
        )
        self._task = asyncio.create_task(self._sync_forever())

    async def _sync_forever(self) -> None:
        while True:
            try:
                await self.client.sync_forever(timeout=5000)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep listening; tests fail on timeouts, with context
                await asyncio.sleep(0.2)

    async def _on_message(self, room: nio.MatrixRoom, event: Any) -> None:
        if event.sender != self.bot_id:
            return
        content: dict[str, Any] = {}
        if isinstance(event, nio.MegolmEvent):
            body, formatted, relates = "<undecryptable>", None, None
        else:
            content = event.source.get("content", {})
            body, formatted = str(content.get("body", "")), content.get("formatted_body")
            relates = content.get("m.relates_to")
        self.inbox.setdefault(room.room_id, []).append(
            Received(event.event_id, body, formatted, relates, time.monotonic(), content)
        )
        self._new.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def dm(self, encrypted: bool = False) -> str:
        """Create a direct room with the bot; returns its id once the bot has joined."""
        initial_state = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        resp = check(
            await self.client.room_create(
                is_direct=True,
                invite=[self.bot_id],
                preset=nio.RoomPreset.trusted_private_chat,
                initial_state=initial_state,
            )
        )
        room_id = str(resp.room_id)
        await self.wait_for(lambda: self._bot_joined(room_id), what="bot joins the room")
        return room_id

    def _bot_joined(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return (
            room is not None
            and self.bot_id in room.users
            and (self.bot_id not in room.invited_users)
        )

    async def send(self, room_id: str, content: dict[str, Any], tx: str | None = None) -> str:
        room = self.client.rooms.get(room_id)
        if room is not None and room.encrypted and self.client.should_query_keys:
            check(await self.client.keys_query())
        resp = check(
            await self.client.room_send(
                room_id, "m.room.message", content, tx_id=tx, ignore_unverified_devices=True
            )
        )
        return str(resp.event_id)

    async def say(self, room_id: str, text: str) -> str:
        return await self.send(room_id, {"msgtype": "m.text", "body": text})

    def replies(self, room_id: str) -> list[Received]:
        return list(self.inbox.get(room_id, []))

    async def wait_replies(self, room_id: str, count: int, timeout: float = 30) -> list[Received]:
        await self.wait_for(
            lambda: len(self.inbox.get(room_id, [])) >= count,
            timeout=timeout,
            what=f"{count} bot message(s)",
        )
        return self.replies(room_id)

    async def ask(self, room_id: str, text: str, timeout: float = 30) -> list[Received]:
        """Send a text and return the bot's messages that arrive for it (waits for a pause)."""
        before = len(self.inbox.get(room_id, []))
        await self.say(room_id, text)
        return await self.collect(room_id, before, timeout)

    async def collect(self, room_id: str, before: int, timeout: float = 30) -> list[Received]:
        await self.wait_replies(room_id, before + 1, timeout)
        # the bot may send several messages for one event: wait until they stop coming
        while True:
            count = len(self.inbox.get(room_id, []))
            await asyncio.sleep(0.4)
            if len(self.inbox.get(room_id, [])) == count:
                return self.replies(room_id)[before:]

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 30, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
            await asyncio.sleep(0.05)


def check(response: Any) -> Any:
    if isinstance(response, nio.ErrorResponse):
        raise AssertionError(f"Matrix error: {response}")
    return response


@contextlib.asynccontextmanager
async def person(
    synapse: Synapse, bot_id: str, store_dir: Path | None = None
) -> AsyncIterator[Person]:
    """A logged-in beneficiary; with `store_dir` it has E2EE (needs matrix-nio[e2e])."""
    user_id, password = synapse.register("ben")
    config = nio.AsyncClientConfig(
        encryption_enabled=store_dir is not None, store_sync_tokens=False
    )
    if store_dir is not None:
        store_dir.mkdir(parents=True, exist_ok=True)
    client = nio.AsyncClient(
        synapse.url,
        user_id,
        store_path=str(store_dir) if store_dir is not None else "",
        config=config,
    )
    check(await client.login(password, device_name="beneficiary"))
    if store_dir is not None and client.should_upload_keys:
        check(await client.keys_upload())
    who = Person(client, user_id, bot_id)
    await who.start()
    try:
        yield who
    finally:
        await who.stop()
