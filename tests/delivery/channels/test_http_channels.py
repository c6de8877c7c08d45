"""Webhook and Slack channels end to end against a real loopback HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import standardwebhooks
import trustme
from pydantic import SecretStr, ValidationError

from alertd import __version__
from alertd.config.schema import SlackChannel, WebhookChannel
from alertd.core.message import Message, render
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.http import retry_after_seconds
from alertd.delivery.channels.pace import Pacer
from alertd.delivery.channels.registry import build_sender
from alertd.delivery.channels.slack import blocks
from alertd.redact import Redactor
from tests.peers import Answer, Receiver
from tests.seed import seed_note

SECRET = "whsec_" + base64.b64encode(b"sixteen-byte-key-for-tests").decode()


def webhook(url: str, **extra: object) -> WebhookChannel:
    return WebhookChannel.model_validate({"type": "webhook", "url": url, **extra})


def slack(url: str, **extra: object) -> SlackChannel:
    return SlackChannel.model_validate({"type": "slack", "url": url, **extra})


async def attempt(config: object, note: object, *, pacer: Pacer | None = None,
                  secrets: tuple[str, ...] = ()) -> DeliveryError | None:
    """One delivery attempt with a fresh context; the error, or None when accepted."""
    ctx = SendContext.create(Redactor(secrets))
    if pacer is not None:
        ctx.pacer = pacer
    try:
        await build_sender("ops", config, ctx).send(note, now=datetime.now(UTC))
    except DeliveryError as exc:
        return exc
    finally:
        await ctx.aclose()
    return None


async def deliver(config: object, note: object, attempts: int = 5) -> list[DeliveryError]:
    """Drive the verdicts like a dispatcher would (without backoff): retry until accepted or permanent."""
    ctx = SendContext.create()
    errors: list[DeliveryError] = []
    try:
        sender = build_sender("ops", config, ctx)
        for _ in range(attempts):
            try:
                await sender.send(note, now=datetime.now(UTC))
            except DeliveryError as exc:
                errors.append(exc)
                if exc.permanent:
                    return errors
            else:
                return errors
    finally:
        await ctx.aclose()
    raise AssertionError(f"not accepted after {attempts} attempts: {errors}")


def test_the_webhook_posts_the_contract_payload(receiver: Receiver) -> None:
    note = seed_note("1d")
    assert asyncio.run(attempt(webhook(receiver.url(), headers={"X-Team": "desk"}), note)) is None
    (seen,) = receiver.seen
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == f"alertd/{__version__}"
    assert seen.headers["x-team"] == "desk"
    assert "webhook-signature" not in seen.headers
    body = seen.json()
    assert body["type"] == "deadline.reminder"
    assert body["timestamp"].endswith("Z")
    data = body["data"]
    assert data["alert_id"] == note.key
    assert data["deadline"] == {
        "id": "us-diplomats-leave-russia", "title": "Ten US diplomats must leave Russia",
        "due": "2021-05-21T21:00:00Z", "due_local": "2021-05-21T24:00", "timezone": "Europe/Moscow",
        "notes": note.deadline.notes, "links": [], "tags": ["russia", "usa", "diplomacy"],
    }
    assert data["lead"] == "P1D"
    assert data["scheduled_for"] == "2021-05-20T21:00:00Z"
    assert data["late_by_seconds"] == 0
    assert "in 1 day" in data["text"]
    assert "Fri 21 May 2021, 24:00 MSK" in data["text"]
    assert set(body) == {"type", "timestamp", "data"}


def test_an_at_deadline_alert_has_type_deadline_due(receiver: Receiver) -> None:
    assert asyncio.run(attempt(webhook(receiver.url()), seed_note("0"))) is None
    assert receiver.seen[0].json()["type"] == "deadline.due"


def test_a_signed_webhook_verifies_with_the_standard_webhooks_library(receiver: Receiver) -> None:
    note = seed_note("6h")
    assert asyncio.run(attempt(webhook(receiver.url(), secret=SECRET), note)) is None
    (seen,) = receiver.seen
    assert seen.headers["webhook-id"] == note.key
    verified = standardwebhooks.Webhook(SECRET).verify(seen.body, seen.headers)
    assert verified["data"]["alert_id"] == note.key


def test_config_headers_cannot_replace_the_signature_or_content_type(receiver: Receiver) -> None:
    forged = {"Webhook-Signature": SecretStr("v1,forged"), "content-type": SecretStr("text/plain")}
    for name in forged:  # check refuses them ...
        with pytest.raises(ValidationError, match="is set by alertd"):
            webhook(receiver.url(), secret=SECRET, headers={name: "x"})
    # ... and a sender given them anyway (a model built without validation) still does not send them
    config = webhook(receiver.url(), secret=SECRET).model_copy(update={"headers": forged})
    assert asyncio.run(attempt(config, seed_note())) is None
    seen = receiver.seen[0]
    assert seen.headers["content-type"] == "application/json"
    standardwebhooks.Webhook(SECRET).verify(seen.body, seen.headers)


def test_500_500_200_is_retried_with_one_webhook_id(receiver: Receiver) -> None:
    receiver.answer(Answer(500, "boom"), Answer(503, "busy"), Answer(200))
    note = seed_note("1h")
    errors = asyncio.run(deliver(webhook(receiver.url(), secret=SECRET), note))
    assert [(str(e), e.permanent) for e in errors] == [("HTTP 500: boom", False), ("HTTP 503: busy", False)]
    assert len(receiver.seen) == 3
    assert {s.headers["webhook-id"] for s in receiver.seen} == {note.key}
    for seen in receiver.seen:  # each attempt is signed afresh and verifies
        standardwebhooks.Webhook(SECRET).verify(seen.body, seen.headers)


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (401, True), (404, True), (408, False),
                                                    (410, True), (429, False), (502, False), (301, True)])
def test_the_webhook_verdict_by_status(receiver: Receiver, status: int, permanent: bool) -> None:
    receiver.answer(Answer(status, "no"))
    error = asyncio.run(attempt(webhook(receiver.url()), seed_note()))
    assert error is not None
    assert error.permanent is permanent


def test_a_receiver_that_hangs_is_a_retryable_timeout(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))
    started = time.monotonic()
    error = asyncio.run(attempt(webhook(receiver.url(), timeout=0.3), seed_note()))
    assert error is not None
    assert not error.permanent
    assert str(error) == "no answer within 0.3 s"
    assert time.monotonic() - started < 5


def test_a_refused_connection_is_retryable_and_names_no_url() -> None:
    url = "http://127.0.0.1:9/services/T000/B000/very-secret-token"
    error = asyncio.run(attempt(slack(url), seed_note(), secrets=(url,)))
    assert error is not None
    assert not error.permanent
    assert str(error) == "network error: connection refused"


def test_a_receiver_that_drops_the_connection_is_a_retryable_network_error(receiver: Receiver) -> None:
    receiver.answer(Answer(drop=True))
    error = asyncio.run(attempt(webhook(receiver.url()), seed_note()))
    assert error is not None
    assert not error.permanent
    assert str(error).startswith("network error: ")


def test_an_unresolvable_host_is_a_retryable_network_error() -> None:
    error = asyncio.run(attempt(webhook("http://alertd-test.invalid/hook"), seed_note()))
    assert error is not None
    assert (str(error), error.permanent) == ("network error: host name not resolved", False)


def test_an_https_receiver_with_an_untrusted_certificate_is_refused_permanently() -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    tls_receiver = Receiver()
    tls_receiver.server.socket = server_ctx.wrap_socket(tls_receiver.server.socket, server_side=True)
    tls_receiver.thread.start()
    try:
        url = tls_receiver.url().replace("http://", "https://")
        error = asyncio.run(attempt(webhook(url), seed_note()))
    finally:
        tls_receiver.server.shutdown()
        tls_receiver.server.server_close()
    assert error is not None
    assert error.permanent
    assert str(error) == "TLS certificate not trusted: unable to get local issuer certificate"
    assert tls_receiver.seen == []


def test_error_bodies_are_redacted(receiver: Receiver) -> None:
    receiver.answer(Answer(400, "bad header X-Token: hunter2-value"))
    error = asyncio.run(attempt(webhook(receiver.url(), headers={"X-Token": "hunter2-value"}), seed_note(),
                                secrets=("hunter2-value",)))
    assert str(error) == "HTTP 400: bad header X-Token: [redacted]"


def test_slack_gets_block_kit_and_a_text_fallback(receiver: Receiver) -> None:
    note = seed_note("1d")
    assert asyncio.run(attempt(slack(receiver.url(), timezone="America/New_York"), note)) is None
    body = receiver.seen[0].json()
    assert body["text"] == "Ten US diplomats must leave Russia: in 1 day (due Fri 21 May 2021, 24:00 MSK)"
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "context", "context"]
    assert body["blocks"][0]["text"] == {"type": "plain_text", "text": "Ten US diplomats must leave Russia"}
    when = body["blocks"][1]["text"]["text"]
    assert "*In 1 day*" in when
    assert "Fri 21 May 2021, 24:00 MSK (Europe/Moscow)" in when
    assert "Fri 21 May 2021, 21:00 UTC" in when
    assert "Fri 21 May 2021, 17:00 EDT (America/New_York)" in when
    assert [e["text"] for e in body["blocks"][3]["elements"]] == ["`russia`", "`usa`", "`diplomacy`"]
    assert body["blocks"][4]["elements"] == [{"type": "mrkdwn",
                                              "text": "To acknowledge: `alertd ack us-diplomats-leave-russia`"}]


def test_slack_429_waits_for_retry_after_then_delivers(receiver: Receiver) -> None:
    receiver.answer(Answer(429, "rate_limited", {"Retry-After": "1"}))

    async def story() -> tuple[DeliveryError | None, DeliveryError | None]:
        ctx = SendContext.create()
        try:
            sender = build_sender("ops", slack(receiver.url()), ctx)
            first = second = None
            try:
                await sender.send(seed_note(), now=datetime.now(UTC))
            except DeliveryError as exc:
                first = exc
            try:  # retried at once: the pacer holds it until Retry-After has passed
                await sender.send(seed_note(), now=datetime.now(UTC))
            except DeliveryError as exc:
                second = exc
            return first, second
        finally:
            await ctx.aclose()

    first, second = asyncio.run(story())
    assert first is not None
    assert (first.permanent, first.retry_after) == (False, 1.0)
    assert second is None
    assert len(receiver.seen) == 2


@pytest.mark.parametrize(("status", "body"), [(404, "channel_not_found"), (410, "channel_is_archived"),
                                              (400, "invalid_payload"), (403, "action_prohibited")])
def test_slack_documented_errors_are_permanent_and_not_retried(receiver: Receiver, status: int, body: str) -> None:
    receiver.answer(Answer(status, body))
    errors = asyncio.run(deliver(slack(receiver.url()), seed_note()))
    assert [(str(e), e.permanent) for e in errors] == [(f"HTTP {status}: {body}", True)]
    assert len(receiver.seen) == 1


def test_slack_500_is_retryable(receiver: Receiver) -> None:
    receiver.answer(Answer(500, "rollup_error"))
    errors = asyncio.run(deliver(slack(receiver.url()), seed_note()))
    assert [e.permanent for e in errors] == [False]
    assert len(receiver.seen) == 2


def test_the_pacer_spaces_slots_per_key_and_honours_holds() -> None:
    clock = [100.0]
    pacer = Pacer(1.0, clock=lambda: clock[0])
    assert [pacer.reserve("a") for _ in range(3)] == [0.0, 1.0, 2.0]
    assert pacer.reserve("b") == 0.0  # another webhook is not slowed down
    clock[0] = 105.0
    assert pacer.reserve("a") == 0.0
    pacer.hold("b", 30)
    assert pacer.reserve("b") == 30.0


def test_slack_sends_to_one_url_at_most_once_per_second(receiver: Receiver) -> None:
    async def story() -> list[float]:
        ctx = SendContext.create()
        ctx.pacer = Pacer(0.25)  # the spacing is the product's; a quarter second keeps the test short
        try:
            sender = build_sender("ops", slack(receiver.url()), ctx)
            stamps: list[float] = []

            async def one() -> None:
                await sender.send(seed_note(), now=datetime.now(UTC))
                stamps.append(time.monotonic())

            await asyncio.gather(*(one() for _ in range(3)))
            return sorted(stamps)
        finally:
            await ctx.aclose()

    stamps = asyncio.run(story())
    assert stamps[1] - stamps[0] >= 0.2
    assert stamps[2] - stamps[1] >= 0.2
    assert Pacer().interval == 1.0


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2021, 5, 20, 21, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now=now) == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


_PARTIAL_ESCAPE = re.compile(r"&(?!amp;|lt;|gt;)")


def _message(**parts: object) -> Message:
    return replace(render(seed_note("1d"), now=seed_note("1d").scheduled_for), **parts)


@pytest.mark.parametrize("plain", range(2990, 3001))
def test_slack_clips_notes_between_escapes_never_inside_one(plain: int) -> None:
    """Notes of `plain` letters then ampersands: the cut falls wherever the 3,000 characters end."""
    section = blocks(_message(notes="n" * plain + "&<>" * 10))[2]["text"]["text"]
    assert len(section) <= 3000
    assert section.endswith("…")
    assert not _PARTIAL_ESCAPE.search(section), section[-12:]
    assert not re.search(r"&(amp|lt|gt)?$", section.removesuffix("…")), section[-12:]


def test_slack_notes_that_fit_are_escaped_and_not_clipped() -> None:
    notes = "a & b <c> " * 100
    assert blocks(_message(notes=notes))[2]["text"]["text"] == notes.replace("&", "&amp;").replace(
        "<", "&lt;").replace(">", "&gt;")


def test_a_slack_link_with_a_bar_or_a_space_gets_no_fake_label() -> None:
    """In mrkdwn `<url|label>` a bar starts a label: it is percent-encoded, as is whitespace."""
    links = ("https://example.com/report?a=1&b=2|Pay here", "https://example.com/a b", "https://example.com/<x>")
    section = blocks(_message(links=links, notes=None))[2]["text"]["text"]
    assert section.splitlines() == [
        "• <https://example.com/report?a=1&amp;b=2%7CPay%20here>",
        "• <https://example.com/a%20b>",
        "• <https://example.com/&lt;x&gt;>",
    ]


def test_too_many_slack_links_are_cut_between_links() -> None:
    links = tuple(f"https://example.com/{i:04d}/" + "p" * 80 for i in range(100))
    section = blocks(_message(links=links, notes=None))[2]["text"]["text"]
    assert len(section) <= 3000
    *kept, last = section.splitlines()
    assert last == "…"
    assert kept == [f"• <{url}>" for url in links[:len(kept)]] and len(kept) > 20
