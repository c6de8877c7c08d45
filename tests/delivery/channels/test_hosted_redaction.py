"""Every hosted channel redacts a service's error text before it shortens it, so a secret the
service echoes near the cut can never show even in part."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.peers import Answer, Receiver

from .kit import attempt, channel, note

SECRET = "Q7zW3kP9vX2mL5nR8tY4"


def specs(receiver: Receiver) -> dict[str, dict]:
    base = receiver.url("")
    return {
        "teams": {"type": "teams", "url": receiver.url("/w")},
        "discord": {"type": "discord", "url": receiver.url("/api/webhooks/1/t")},
        "telegram": {"type": "telegram", "token": "1:AAAAAAAAAAAAAAAAAAAAAAAA", "chat_id": "5", "api_url": base},
        "ntfy": {"type": "ntfy", "server": base, "topic": "t"},
        "pagerduty": {"type": "pagerduty", "routing_key": "k" * 32, "url": base + "/v2/enqueue"},
        "matrix": {"type": "matrix", "homeserver": base, "room": "!r:example.org", "access_token": "syt_x"},
    }


@pytest.mark.parametrize("kind", ["teams", "discord", "telegram", "ntfy", "pagerduty", "matrix"])
@pytest.mark.parametrize("pad", [100, 110, 115, 150, 155])
def test_an_echoed_secret_near_the_cut_never_shows_in_part(receiver: Receiver, kind: str, pad: int) -> None:
    text = "x" * pad + SECRET + " and more"
    receiver.answer(Answer(500, json.dumps({"message": text, "description": text, "error": text, "errors": [text],
                                            "errcode": "M_UNKNOWN"})))
    error = asyncio.run(attempt(channel(specs(receiver)[kind]), note(), secrets=(SECRET,)))
    assert error is not None
    assert SECRET[:3] not in str(error), str(error)
