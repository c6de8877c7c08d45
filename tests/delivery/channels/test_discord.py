"""Discord webhooks end to end against a loopback receiver that answers as Discord documents."""

from __future__ import annotations

import asyncio
import json

import pytest

from alertd.delivery.channels.clip import MARK, utf16_len
from alertd.delivery.channels.discord import escape, execute_url
from tests.peers import Answer, Receiver

from .kit import HOSTILE_TITLE, LONG_NOTES, SEED_DUES, attempt, channel, note

TOKEN = "dRqT0k3n-4b5c6d7e8f9g0h1i2j3k4l5m6n7o8p9q0r1s2t3u4v5w6x7y8z9A0B1C2D3E4F5"
PATH = f"/api/webhooks/1234567890/{TOKEN}"


def discord(receiver: Receiver, path: str = PATH, **extra: object):
    return channel({"type": "discord", "url": receiver.url(path), **extra})


def test_it_executes_the_webhook_with_wait_and_one_embed(receiver: Receiver) -> None:
    receiver.answer(Answer(200, json.dumps({"id": "1", "type": 0})))
    assert asyncio.run(attempt(discord(receiver), note("1d"))) is None
    (seen,) = receiver.seen
    assert (seen.method, seen.path) == ("POST", PATH + "?wait=true")
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {
        "content": escape("Ten US diplomats must leave Russia: in 1 day (due Fri 21 May 2021, 24:00 MSK)"),
        "embeds": [{
            "title": "Ten US diplomats must leave Russia",
            "description": "\n".join(["**In 1 day**", *(escape(d) for d in SEED_DUES), "",
                                      escape(note().deadline.notes)]),
            "color": 0x3498DB,
            "footer": {"text": "Tags: russia, usa, diplomacy"},
        }],
        "allowed_mentions": {"parse": []},
    }


def test_a_thread_id_in_the_url_is_kept() -> None:
    assert execute_url("https://discord.com/api/webhooks/1/t?thread_id=42&wait=false") == (
        "https://discord.com/api/webhooks/1/t?thread_id=42&wait=true")


def test_a_hostile_title_pings_nobody_and_shows_as_written(receiver: Receiver) -> None:
    assert asyncio.run(attempt(discord(receiver), note(title=HOSTILE_TITLE, notes=LONG_NOTES))) is None
    body = receiver.seen[0].json()
    assert body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert "**md**" not in embed["title"] and "\\*\\*md\\*\\*" in embed["title"]
    assert "\\[x\\]\\(https\\://evil.example\\)" in embed["title"]
    assert "שלום 🚨" in embed["title"]
    assert embed["description"].endswith(MARK)
    total = sum(utf16_len(t) for t in (embed["title"], embed["description"], embed["footer"]["text"]))
    assert total <= 6000 and utf16_len(embed["title"]) <= 256


@pytest.mark.parametrize(("kind", "color"), [("deadline.due", 0xE67E22), ("deadline.overdue", 0xE74C3C),
                                             ("deadline.escalation", 0xC0392B), ("deadline.acknowledged", 0x2ECC71)])
def test_the_colour_follows_the_kind(receiver: Receiver, kind: str, color: int) -> None:
    assert asyncio.run(attempt(discord(receiver), note("0", kind=kind))) is None
    assert receiver.seen[0].json()["embeds"][0]["color"] == color


def test_429_waits_for_the_json_retry_after(receiver: Receiver) -> None:
    """Discord's body says 64.57 s; its Retry-After header, when present, is the same rounded up."""
    receiver.answer(Answer(429, json.dumps({"message": "You are being rate limited.", "retry_after": 64.57,
                                            "global": False}), {"Content-Type": "application/json"}))
    error = asyncio.run(attempt(discord(receiver), note()))
    assert error is not None
    assert (error.permanent, error.retry_after) == (False, 64.57)
    assert str(error) == "HTTP 429: You are being rate limited."


@pytest.mark.parametrize(("status", "body", "permanent"), [
    (404, {"message": "Unknown Webhook", "code": 10015}, True),
    (401, {"message": "Invalid Webhook Token", "code": 50027}, True),
    (400, {"message": "Invalid Form Body", "code": 50035}, True),
    (500, {"message": "Internal Server Error"}, False),
    (502, {}, False),
])
def test_the_verdict_by_status(receiver: Receiver, status: int, body: dict, permanent: bool) -> None:
    receiver.answer(Answer(status, json.dumps(body)))
    error = asyncio.run(attempt(discord(receiver), note()))
    assert error is not None
    assert error.permanent is permanent


def test_an_exhausted_bucket_holds_the_next_send(receiver: Receiver) -> None:
    """X-RateLimit-Remaining: 0 on a success makes the next send wait X-RateLimit-Reset-After."""
    receiver.answer(Answer(200, "{}", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.6"}))

    async def two() -> float:
        from alertd.delivery.channels.base import SendContext  # noqa: PLC0415
        from alertd.delivery.channels.registry import build_sender  # noqa: PLC0415

        ctx = SendContext.create()
        loop = asyncio.get_running_loop()
        try:
            sender = build_sender("ops", discord(receiver), ctx)
            await sender.send(note("1d"), now=note().scheduled_for)
            started = loop.time()
            await sender.send(note("6h"), now=note().scheduled_for)
            return loop.time() - started
        finally:
            await ctx.aclose()

    assert asyncio.run(two()) >= 0.5
    assert len(receiver.seen) == 2


def test_a_hanging_webhook_is_a_retryable_timeout(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))
    error = asyncio.run(attempt(discord(receiver, timeout=0.3), note()))
    assert error is not None
    assert (str(error), error.permanent) == ("no answer within 0.3 s", False)
