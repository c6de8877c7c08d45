"""apprise end to end with its real `json://` service against a loopback receiver (the extra installed)."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

import alertd.config.channels as channels_module
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.registry import build_sender
from tests.peers import Answer, Receiver

from .kit import HOSTILE_TITLE, attempt, channel, note

pytest.importorskip("apprise", reason="the apprise extra is part of the test install (pyproject [test])")

PATH = "/apprise/Zq8xW3vN6mK2pL9rT4yU"


def json_url(receiver: Receiver, path: str = PATH) -> str:
    host, port = receiver.server.server_address[:2]
    return f"json://{host}:{port}{path}"


def apprise_channel(*urls: str, **extra: object):
    return channel({"type": "apprise", "urls": list(urls), **extra})


def test_it_delivers_through_apprises_json_service(receiver: Receiver) -> None:
    assert asyncio.run(attempt(apprise_channel(json_url(receiver)), note("1d", title=HOSTILE_TITLE))) is None
    (seen,) = receiver.seen
    assert (seen.method, seen.path) == ("POST", PATH)
    body = seen.json()
    assert body["title"] == f"{HOSTILE_TITLE} — in 1 day"  # non-ASCII and markup intact
    assert body["message"].startswith(f"{HOSTILE_TITLE} — in 1 day\n\nDue: Fri 21 May 2021, 24:00 MSK")
    assert body["type"] == "info"


def test_a_refusal_is_retryable_and_its_reason_never_shows_the_url(receiver: Receiver) -> None:
    receiver.answer(Answer(500, "Zq8xW3vN6mK2pL9rT4yU broke"))
    url = json_url(receiver)
    error = asyncio.run(attempt(apprise_channel(url), note(), secrets=(url, "Zq8xW3vN6mK2pL9rT4yU")))
    assert error is not None and not error.permanent
    assert str(error).startswith("apprise: urls[0]: ")
    assert "Zq8xW3vN6mK2pL9rT4yU" not in str(error) and "json://" not in str(error)
    assert str(receiver.server.server_address[1]) not in str(error)


def test_a_retry_sends_only_to_the_urls_that_did_not_take_it(receiver: Receiver) -> None:
    receiver.answer(Answer(200), Answer(503), Answer(200))
    config = apprise_channel(json_url(receiver, "/a-first-service"), json_url(receiver, "/a-second-service"))
    n = note()

    async def twice() -> list[object]:
        ctx = SendContext.create()
        out: list[object] = []
        try:
            sender = build_sender("ops", config, ctx)
            for _ in range(2):
                try:
                    await sender.send(n, now=n.scheduled_for)
                    out.append(None)
                except Exception as exc:
                    out.append(exc)
        finally:
            await ctx.aclose()
        return out

    first, second = asyncio.run(twice())
    assert first is not None and second is None
    assert [s.path for s in receiver.seen] == ["/a-first-service", "/a-second-service", "/a-second-service"]


def test_a_hung_service_times_out_without_blocking_the_event_loop(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))

    async def run() -> tuple[object, float, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        error = await attempt(apprise_channel(json_url(receiver), timeout=0.6), note())
        task.cancel()
        return error, time.monotonic() - started, ticks

    error, took, ticks = asyncio.run(run())
    assert error is not None and not error.permanent
    assert "no answer within 0.6 s" in str(error)
    assert took < 3
    assert ticks >= 15, "the loop kept running while apprise waited"


def test_a_url_apprise_cannot_use_is_a_config_error_naming_no_secret() -> None:
    with pytest.raises(ValueError, match=r"urls\[0\]: apprise cannot use this URL \(scheme 'nosuch'\)") as info:
        apprise_channel("nosuch://s3cr3t-t0ken@example.org")
    assert all("s3cr3t" not in e["msg"] for e in info.value.errors())  # `alertd check` shows these


def test_without_the_extra_check_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels_module, "_apprise", None)
    monkeypatch.setitem(sys.modules, "apprise", None)  # what an install without the extra looks like
    with pytest.raises(ValueError, match=r"pip install 'alertd\[apprise\]'"):
        apprise_channel("json://127.0.0.1:9/x")


def test_apprise_log_lines_never_reach_the_root_logger(receiver: Receiver, capfd: pytest.CaptureFixture[str]) -> None:
    receiver.answer(Answer(500, "no"))
    asyncio.run(attempt(apprise_channel(json_url(receiver)), note()))
    out, err = capfd.readouterr()
    assert "Zq8x" not in out + err and "json://" not in out + err


def test_the_apprise_type_follows_the_kind(receiver: Receiver) -> None:
    assert asyncio.run(attempt(apprise_channel(json_url(receiver)), note("0", kind="deadline.overdue"))) is None
    assert json.loads(receiver.seen[0].body)["type"] == "failure"
