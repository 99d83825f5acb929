"""The local Bot API server rejects what Telegram rejects (so adapter tests against it mean
something), through PTB's real HTTP stack and through raw HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter

from adapters.telegram import _retry_after
from tests.telegram_server import TOKEN, FakeTelegram, parse_html, utf16_len

# PTB 22 warns about RetryAfter.retry_after's future type from inside its own code.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(max_lifetime=60) as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url) as client:
        yield client


async def raw(server: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}{server.token}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


async def test_listens_on_loopback_only(server: FakeTelegram) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")


async def test_get_me_and_wrong_token(server: FakeTelegram, bot: Bot) -> None:
    assert bot.username == "AiguillageTestBot"
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=server.base_url):
            pass


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",  # unsupported tag
        "<b>gras",  # unclosed
        "<b><i>mal</b></i>",  # badly nested
        "A & B",  # bare ampersand
        "&nbsp;",  # named entity Telegram does not know
        "1 > 0",  # bare >
        '<a href="javascript:alert(1)">x</a>',  # not a URL
        '<span class="rouge">x</span>',  # span without tg-spoiler
    ],
)
async def test_html_telegram_refuses(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1, text, parse_mode="HTML")


async def test_html_telegram_accepts(server: FakeTelegram, bot: Bot) -> None:
    html = '<b>Gras</b> &lt;script&gt; &amp; &quot;co&quot; &#39; <a href="https://x.fr/?a=1&amp;b=2">lien</a>'
    await bot.send_message(7, html, parse_mode="HTML")
    assert server.sent[7][0].text == 'Gras <script> & "co" \' lien'
    assert parse_html("<pre><code>x</code></pre>") == "x"


async def test_text_length_after_entity_parsing(server: FakeTelegram, bot: Bot) -> None:
    # 4096 visible characters are fine even if the markup makes the request longer…
    await bot.send_message(1, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    # …but one more is not, and neither is an empty text; emoji count as two (UTF-16)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "a" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(1, "😀" * 2049)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(1, "<b> </b>", parse_mode="HTML")
    assert utf16_len("😀") == 2


async def test_markdown_v2_needs_escapes(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)reserved"):
        await bot.send_message(1, "Fin.", parse_mode="MarkdownV2")
    await bot.send_message(1, "Fin\\.", parse_mode="MarkdownV2")


async def test_callback_data_and_keyboard_shape(bot: Bot, server: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            1,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("a", callback_data="é" * 33)]]
            ),
        )
    many = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    with pytest.raises(BadRequest, match=r"(?i)REPLY_MARKUP_TOO_LONG"):
        await bot.send_message(1, "x", reply_markup=InlineKeyboardMarkup(many))
    status, body = await raw(server, "sendMessage", chat_id=1, text="x",
                             reply_markup={"inline_keyboard": [{"text": "a"}]})  # fmt: skip
    assert status == 400 and body["ok"] is False and body["error_code"] == 400
    assert body["description"].startswith("Bad Request:")
    two_kinds = {"text": "a", "url": "https://a.fr", "callback_data": "b"}
    markup = {"inline_keyboard": [[two_kinds]]}
    status, body = await raw(server, "sendMessage", chat_id=1, text="x", reply_markup=markup)
    assert status == 400 and "exactly one" in body["description"]
    status, body = await raw(server, "sendMessage", chat_id=1, text="x",
                             reply_markup={"keyboard": []})  # fmt: skip
    assert status == 400


async def test_bot_commands_rules(bot: Bot, server: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Aide", "x")])
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("a" * 33, "x")])
    with pytest.raises(BadRequest, match=r"(?i)DESCRIPTION"):
        await bot.set_my_commands([BotCommand("aide", "x" * 257)])
    await bot.set_my_commands([BotCommand("mes_donnees", "Vos données")], language_code="fr")
    assert server.commands["fr"][0]["command"] == "mes_donnees"


async def test_deep_link_payload_rules(server: FakeTelegram) -> None:
    await server.send_start(1, "CD54-NANCY__b-mobilite")
    with pytest.raises(ValueError):
        await server.send_start(1, "a" * 65)
    with pytest.raises(ValueError):
        await server.send_start(1, "code avec espaces")
    update = server.updates[-1]["message"]
    assert update["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


async def test_get_updates_offset_semantics(server: FakeTelegram, bot: Bot) -> None:
    first = await server.send_text(1, "a")
    second = await server.send_text(2, "b")
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [first, second]
    # the same updates come again until an offset confirms them
    assert len(await bot.get_updates(timeout=0)) == 2
    updates = await bot.get_updates(offset=second, timeout=0)
    assert [u.update_id for u in updates] == [second] and server.confirmed == second
    assert await bot.get_updates(offset=second + 1, timeout=0) == ()
    assert server.pending() == []


async def test_long_poll_returns_when_an_update_arrives(server: FakeTelegram, bot: Bot) -> None:
    import asyncio

    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.sleep(0.1)
    await server.send_text(1, "coucou")
    async with asyncio.timeout(3):
        updates = await poll
    assert updates[0].message is not None and updates[0].message.text == "coucou"


async def test_callback_query_answer_once(server: FakeTelegram, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="oui")]])
    await bot.send_message(5, "Alors ?", reply_markup=keyboard)
    await server.press(5, "Oui")
    (update,) = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    await update.callback_query.answer()
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await update.callback_query.answer()
    message = server.sent[5][0]
    await bot.edit_message_reply_markup(5, message.message_id, reply_markup=None)
    assert server.sent[5][0].buttons == []
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(5, message.message_id, reply_markup=None)
    with pytest.raises(AssertionError):
        await server.press(5, "Oui", message)  # a removed button cannot be pressed


async def test_flood_mode_answers_429(server: FakeTelegram, bot: Bot) -> None:
    server.flood(5, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(1, "x")
    assert _retry_after(info.value) == 3
    status, body = await raw(server, "sendMessage", chat_id=1, text="x")
    assert status == 429 and body["parameters"] == {"retry_after": 3}
    assert server.flood_answers == 2


async def test_per_chat_rate_report_and_strict_mode(server: FakeTelegram, bot: Bot) -> None:
    for _ in range(7):
        await bot.send_message(3, "x")
    assert server.rate_report()[3] == 7
    assert server.rate_violations[3] == 2  # a burst of 5 is tolerated
    server.strict_rate = True
    with pytest.raises(RetryAfter):
        await bot.send_message(3, "x")


async def test_webhook_conflicts_with_get_updates(server: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)HTTPS"):
        await bot.set_webhook("http://example.org/hook")
    await bot.set_webhook("https://example.org/hook", secret_token="s3cret_ok")
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_unknown_method_is_404(server: FakeTelegram) -> None:
    status, body = await raw(server, "sendTelepathy", chat_id=1)
    assert status == 404 and body == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert json.dumps(body)
