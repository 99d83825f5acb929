"""Real conversations with the real dialogue and knowledge base, through the Telegram adapter,
PTB's HTTP stack and the local Bot API server (which rejects what Telegram rejects)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.conversation.dialogue import OrientationDialogue
from tests.telegram_harness import Harness, telegram_bot
from tests.telegram_server import Sent

CHAT = 5454

# PTB 22 warns about RetryAfter.retry_after's future type from inside its own code.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def tg(tmp_path: Path, dialogue: OrientationDialogue) -> AsyncIterator[Harness]:
    async with telegram_bot(tmp_path, dialogue) as harness:
        yield harness
        assert harness.server.errors == [], "Telegram would have refused something"


def text_of(replies: list[Sent]) -> str:
    return "\n".join(r.text for r in replies)


def data_of(replies: list[Sent]) -> list[str]:
    return [data for r in replies for _, data in r.buttons]


async def test_deep_link_with_referral_code(tg: Harness) -> None:
    await tg.send_start(CHAT, "CD54-NANCY__b-mobilite_permis__c-54395")
    replies = await tg.replies(CHAT)
    assert "CD54-NANCY" in text_of(replies)
    assert "km" in text_of(replies)


async def test_orientation_with_buttons(tg: Harness) -> None:
    first = await tg.say(CHAT, "je cherche du boulot")
    assert first and "/oubli" in text_of(first)
    second = await tg.say(CHAT, "luneville")
    assert "km" in text_of(second), "IAE structures come at once, with the commune"
    assert "sit:RSA" in data_of(second), "then one follow-up for the pre-screen"
    pressed = next(r for r in second if "sit:RSA" in data_of([r]))
    label = next(label for label, data in pressed.buttons if data == "sit:RSA")
    await tg.press(CHAT, label)
    answer = await tg.replies(CHAT)
    assert "semblez remplir les conditions" in text_of(answer)
    assert pressed.buttons == []  # its keyboard was removed: it cannot be pressed twice


async def test_more_about_one_result_comes_with_its_place_on_the_map(tg: Harness) -> None:
    await tg.say(CHAT, "je cherche un garage solidaire à Nancy")
    venue, details = await tg.say(CHAT, "plus d'infos sur le 1")
    assert venue.method == "sendVenue" and venue.text == "Garage solidaire de Jarville (exemple)"
    assert details.text.startswith("1. Garage solidaire de Jarville (exemple)")
    assert "📍 54140 Jarville-la-Malgrange (1,5 km)" in details.text


async def test_location_share(tg: Harness) -> None:
    await tg.say(CHAT, "ma voiture est en panne")
    await tg.send_location(CHAT, 48.5925, 6.4921)  # Lunéville
    replies = await tg.replies(CHAT)
    assert "km" in text_of(replies)


async def test_faq_question(tg: Harness) -> None:
    replies = await tg.say(CHAT, "c'est quoi une CAE ?")
    assert "http" in text_of(replies)


async def test_my_data_then_forget(tg: Harness) -> None:
    await tg.say(CHAT, "j'ai 19 ans, j'habite à Nancy")
    assert "Nancy" in text_of(await tg.say(CHAT, "/mydata"))
    await tg.say(CHAT, "/oubli")
    assert "Nancy" not in text_of(await tg.say(CHAT, "/mes_donnees"))


@pytest.mark.parametrize("kind", ["photo", "voice", "sticker"])
async def test_media_get_a_kind_answer(tg: Harness, kind: str) -> None:
    await tg.send_media(CHAT, kind)
    replies = await tg.replies(CHAT)
    assert replies and all(r.text.strip() for r in replies)


async def test_html_in_user_text_is_never_markup(tg: Harness) -> None:
    replies = await tg.say(CHAT, "<b>je cherche</b> un garage & une <script>")
    assert replies
    assert all("<script>" not in r.raw for r in replies)
