"""Hostile input, property-based (hypothesis): whatever arrives, the JSON-lines session answers
every line with exactly one valid JSON line, in order, and the dispatcher answers every event
that went through the adapter boundary (`adapters.base.bounded`) without crashing, with
replies that are valid text and bounded in size.

The dialogue runs for real (shipped knowledge base, real SQLite files): a crash inside it is
caught by the dispatcher and logged as "dialogue step failed", which these tests count as a
failure of the property.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.base import MAX_TEXT_CHARS, bounded, clean_text
from adapters.console import MAX_LINE_BYTES, parse_line, serve_jsonl, stdin_lines
from bot.conversation.dialogue import OrientationDialogue
from bot.dispatcher import Dispatcher
from bot.messages import Incoming, Location
from bot.store import Store

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
MAX_REPLY_CHARS = 20_000  # no turn may answer with more than this (all replies together)
MAX_OUTPUT_LINE = 200_000  # bytes of one JSON-lines answer

ODD_CHARACTERS = ["\ud800", "\udfff", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029",
                  "\r", "\u202e", "\ufeff", "\uffff", "\t", "\n", "é", "🚗", "ب"]  # fmt: skip
ATTACKS = [
    "<script>alert(1)</script>",
    "<b>gras</b> &amp; <a href='javascript:x'>lien</a>",
    "'; DROP TABLE conversations; --",
    "{{7*7}} ${jndi:ldap://x/a} %s%s%n",
    "\x1b[2J\x1b[31mrouge\x1b]0;titre\x07",
    "/oubli",
    "/mes_donnees",
    "le 99",
    "2",
    "  " * 2000 + "1",
    "1" * 5000,
    "é" * 70_000,
    "jcherche du taf " * 20_000,  # 320 kB
    "a" * 1_000_000,  # 1 MB
]
CHOICE_IDS = ["need:emploi_insertion", "need:nope", "sit:rsa", "faq:nope", "commune:99999",
              "more", "menu", "", "x" * 300, "sit:" + "y" * 200]  # fmt: skip


def odd_text(max_size: int = 60) -> st.SearchStrategy[str]:
    return st.text(st.one_of(st.characters(), st.sampled_from(ODD_CHARACTERS)), max_size=max_size)


texts = st.one_of(odd_text(), st.sampled_from(ATTACKS))
events: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.builds(lambda t: {"text": t}, texts),
    st.builds(lambda c: {"choice": c}, st.one_of(st.sampled_from(CHOICE_IDS), odd_text(80))),
    st.builds(lambda s: {"start": s}, st.one_of(odd_text(), st.just("CD54-NANCY__b-x"))),
    st.builds(
        lambda lat, lon: {"location": Location(lat, lon)},
        st.floats(-90, 90, allow_nan=False),
        st.floats(-180, 180, allow_nan=False),
    ),
    st.builds(lambda k: {"unsupported": k}, st.sampled_from(["photo", "voice", "x" * 100])),
)


def _run_conversation(
    dialogue: OrientationDialogue, steps: list[dict[str, Any]]
) -> list[tuple[Incoming, Any]]:
    async def main() -> list[tuple[Incoming, Any]]:
        with tempfile.TemporaryDirectory() as folder:
            async with Store.open(Path(folder) / "a.db") as store:
                dispatcher = Dispatcher(store, lambda: dialogue)
                out: list[tuple[Incoming, Any]] = []
                for n, step in enumerate(steps):
                    incoming = bounded(Incoming("test", "u1", f"e{n}", **step))
                    out.append((incoming, await dispatcher.handle(incoming)))
                    await dispatcher.confirm_sent(incoming)
                state = await store.load_state(store.key_for("test", "u1"))
                out.append((incoming, state))
                return out

    return asyncio.run(main())


class DialogueCrashes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "dialogue step failed" in record.getMessage():
            self.count += 1


@pytest.fixture
def crashes() -> Any:
    handler = DialogueCrashes()
    logger = logging.getLogger("bot.dispatcher")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


# --- the boundary itself -------------------------------------------------------------------------


@PROPERTY
@given(st.text(st.one_of(st.characters(), st.sampled_from(ODD_CHARACTERS)), max_size=9_000))
def test_the_boundary_makes_any_text_valid_printable_and_bounded(text: str) -> None:
    cleaned, truncated = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogate left
    assert len(cleaned) <= MAX_TEXT_CHARS
    assert truncated == (len(text) > MAX_TEXT_CHARS) or truncated
    allowed = {"\n", "\t"}
    assert all(c in allowed or (ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F) for c in cleaned)
    assert not set(cleaned) & {"\u2028", "\u2029", "\x85", "\r", "\u202e", "\ufeff"}
    assert clean_text(cleaned) == (cleaned, False)  # cleaning is idempotent


def test_a_1_mb_message_is_cut_and_marked() -> None:
    incoming = bounded(Incoming("test", "u1", "e1", text="mot " * 250_000))
    assert incoming.truncated and incoming.text is not None
    assert len(incoming.text) <= MAX_TEXT_CHARS and incoming.text.endswith("mot")


# --- Dispatcher.handle after the boundary --------------------------------------------------------


@PROPERTY
@given(st.lists(events, min_size=1, max_size=6))
def test_the_dispatcher_answers_any_event_without_crashing(
    dialogue: OrientationDialogue, crashes: DialogueCrashes, steps: list[dict[str, Any]]
) -> None:
    *turns, (_, state) = _run_conversation(dialogue, steps)
    assert crashes.count == 0, "the dialogue raised (see the log)"
    for _, turn in turns:
        assert turn.replies, "every event gets an answer"
        total = sum(len(r.text) + sum(len(c.label) for c in r.choices) for r in turn.replies)
        assert total <= MAX_REPLY_CHARS
        for reply in turn.replies:
            reply.text.encode("utf-8")
            assert "\x00" not in reply.text and "\x1b" not in reply.text
            assert all(len(c.id.encode()) <= 256 for c in reply.choices)
    assert state is None or len(json.dumps(state)) < 64_000


def test_choice_ids_never_offered_do_not_grow_the_state(dialogue: OrientationDialogue) -> None:
    steps = [{"choice": f"sit:{'x' * 200}{n}"} for n in range(300)]
    *_, (_, state) = _run_conversation(dialogue, steps)
    assert len(json.dumps(state)) < 8_000


# --- the JSON-lines contract ---------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), odd_text())
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text(8), inner, max_size=3),
    max_leaves=12,
)
good_lines = st.builds(
    lambda user, step: json.dumps({"user": user, **step}),
    st.one_of(st.sampled_from(["u1", "u2"]), odd_text(20)),
    st.one_of(
        st.builds(lambda t: {"text": t}, texts),
        st.builds(lambda c: {"choice": c}, st.sampled_from(CHOICE_IDS)),
        st.builds(
            lambda a, b: {"location": {"lat": a, "lon": b}},
            st.one_of(st.floats(), st.integers(), st.just(10**400)),
            st.one_of(st.floats(), st.integers()),
        ),
    ),
)
bad_lines = st.one_of(
    st.binary(max_size=80),
    st.builds(lambda v: json.dumps(v, allow_nan=True), json_values),
    st.builds(lambda d: "[" * d + "]" * d, st.integers(900, 5000)),
    st.builds(lambda d: '{"user": "u1", "text": ' + "[" * d, st.integers(900, 3000)),
    st.builds(
        lambda n: '{"user": "u1", "id": ' + "7" * n + ', "text": "a"}', st.integers(4300, 9000)
    ),
    st.just('{"user": "u1", "location": {"lat": 1' + "0" * 400 + ', "lon": 2}}'),
    st.just('{"user": "\\ud800", "text": "\\udfff"}'),
    st.just("\xef\xbb\xbf{}"),
)


def _line_bytes(line: str | bytes) -> bytes:
    data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    return data.replace(b"\n", b" ").replace(b"\r", b" ")


def _serve(dialogue: OrientationDialogue, data: bytes) -> list[str]:
    async def main() -> list[str]:
        out = io.StringIO()
        with tempfile.TemporaryDirectory() as folder:
            async with Store.open(Path(folder) / "a.db") as store:
                dispatcher = Dispatcher(store, lambda: dialogue)
                await serve_jsonl(dispatcher, stdin_lines(io.BytesIO(data)), out)
        return out.getvalue().splitlines()

    return asyncio.run(main())


@PROPERTY
@given(st.lists(st.one_of(good_lines, bad_lines), min_size=1, max_size=8))
def test_exactly_one_valid_json_line_out_per_line_in(
    dialogue: OrientationDialogue, crashes: DialogueCrashes, lines: list[str | bytes]
) -> None:
    data = b"\n".join(_line_bytes(line) for line in lines) + b"\n"
    answers = _serve(dialogue, data)
    assert len(answers) == len(lines)
    for line, answer in zip(lines, answers, strict=True):
        assert len(answer.encode()) <= MAX_OUTPUT_LINE
        decoded = json.loads(answer)
        assert isinstance(decoded, dict)
        if "error" in decoded:
            assert set(decoded) == {"error"} and isinstance(decoded["error"], str)
            assert "Traceback" not in decoded["error"]
        else:
            assert set(decoded) == {"user", "replies", "trace"}
            assert decoded["replies"], line
    assert crashes.count == 0


def test_each_kind_of_hostile_line_gets_an_error_and_the_session_goes_on(
    dialogue: OrientationDialogue,
) -> None:
    hostile = [
        b'{"user": "u1", "text": "caf\xe9 \xff\xfe"}',  # invalid UTF-8: read with replacement
        b"[" * 1000,  # nested 1,000 deep
        b'{"user": "u1", "id": ' + b"1" * 4300 + b', "text": "a"}',  # 4,300 digits
        b'{"user": "u1", "location": {"lat": 1' + b"0" * 400 + b', "lon": 1}}',  # huge latitude
        b"42",
        b"null",
        b'"texte"',
        b"",
        b'{"user": "u1", "text": "a", "choice": "b"}',
        b'{"user": "", "text": "a"}',
        b'{"user": "u1", "id": {"x": 1}, "text": "a"}',
        b'{"user": "u1", "location": {"lat": NaN, "lon": 1}}',
        b'{"user": "u1", "location": {"lat": Infinity, "lon": 1}}',
        b'{"user": "u1", "text": "bonjour"}',
    ]
    answers = [json.loads(a) for a in _serve(dialogue, b"\n".join(hostile) + b"\n")]
    assert len(answers) == len(hostile)
    assert "replies" in answers[0]  # the text was read, its bad bytes replaced
    assert all(set(a) == {"error"} for a in answers[1:-1]), answers[1:-1]
    assert "replies" in answers[-1]  # and the session went on


def test_a_line_longer_than_the_limit_is_skipped_with_an_error(
    dialogue: OrientationDialogue,
) -> None:
    huge = b'{"user": "u1", "text": "' + b"a" * (MAX_LINE_BYTES + 10) + b'"}'
    data = huge + b'\n{"user": "u1", "text": "bonjour"}\n'
    first, second = (json.loads(a) for a in _serve(dialogue, data))
    assert "too long" in first["error"]
    assert "replies" in second


def test_parse_line_never_quotes_the_input_in_its_errors() -> None:
    for line in ('{"user": "u1", "text": 5, "secret": "06 12 34 56 78"}', "06 12 34 56 78"):
        with pytest.raises(ValueError) as caught:
            parse_line(line)
        assert "06 12" not in str(caught.value)
