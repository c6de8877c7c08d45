"""What HTTP receivers do wrong, and what alertd then says and does: real loopback servers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from alertd.config.schema import SlackChannel, WebhookChannel
from alertd.delivery.channels.base import RETRY_AFTER_CAP, DeliveryError, SendContext, error_text
from alertd.delivery.channels.registry import build_sender
from alertd.redact import Redactor
from tests.peers import Answer, Receiver
from tests.seed import seed_note


class RawServer:
    """A TCP server that answers each connection with a script: bytes to send, pauses between them."""

    def __init__(self, *, reply: list[bytes | float] | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.reply = reply  # None: read and never answer
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.reply is None:
                self.done.wait(30)
                return
            for part in self.reply:
                if isinstance(part, float):
                    if self.done.wait(part):
                        return
                else:
                    conn.sendall(part)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.done.set()
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for s in servers:
        s.close()


def attempt(config: object, *, secrets: tuple[str, ...] = ()) -> DeliveryError | None:
    async def go() -> DeliveryError | None:
        ctx = SendContext.create(Redactor(secrets))
        try:
            await build_sender("ops", config, ctx).send(seed_note(), now=datetime.now(UTC))
        except DeliveryError as exc:
            return exc
        finally:
            await ctx.aclose()
        return None

    return asyncio.run(go())


def webhook(url: str, **extra: object) -> WebhookChannel:
    return WebhookChannel.model_validate({"type": "webhook", "url": url, "timeout": 0.3, **extra})


def test_tls_to_a_plain_http_server_says_the_handshake_failed(receiver: Receiver) -> None:
    error = attempt(webhook(receiver.url().replace("http:", "https:")))
    assert error is not None and not error.permanent
    assert str(error) == "network error: TLS handshake failed"


def test_a_server_that_never_answers_the_handshake_is_a_timeout_saying_where(raw: list[RawServer]) -> None:
    raw.append(RawServer(reply=None))
    error = attempt(webhook(f"https://127.0.0.1:{raw[0].port}/hook"))
    assert error is not None
    assert str(error).startswith("no answer within 0.3 s: the connection, its TLS handshake or the response "
                                 "headers did not come"), str(error)
    assert "Cancelled" not in str(error)


def test_a_drip_fed_response_is_a_read_timeout(raw: list[RawServer]) -> None:
    drip: list[bytes | float] = [b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"]
    drip += [x for _ in range(50) for x in (0.1, b"x")]
    raw.append(RawServer(reply=drip))
    start = time.monotonic()
    error = attempt(webhook(f"http://127.0.0.1:{raw[0].port}/hook"))
    assert error is not None and not error.permanent
    assert str(error) == "read timed out: the response did not finish within 0.9 s"
    assert time.monotonic() - start < 5


def test_a_response_cut_short_is_said_in_words(raw: list[RawServer]) -> None:
    raw.append(RawServer(reply=[b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nonly this"]))
    error = attempt(webhook(f"http://127.0.0.1:{raw[0].port}/hook"))
    assert str(error) == "network error: the response was shorter than its Content-Length"


def test_an_error_body_is_kept_as_one_printable_bounded_line(receiver: Receiver) -> None:
    receiver.answer(Answer(500, "line one\r\nline two\x1b[31m\x00 token=s3cr3t-t0k3n-value " + "z" * 5000))
    error = attempt(webhook(receiver.url()), secrets=("s3cr3t-t0k3n-value",))
    assert error is not None
    kept = error_text(str(error), Redactor(["s3cr3t-t0k3n-value"]))
    assert kept.startswith("HTTP 500: line one line two[31m token=[redacted] zzz")
    assert kept.isprintable() and len(kept) <= 300


def test_error_text_redacts_before_it_cuts() -> None:
    secret = "abcdefghij" * 4
    text = "x" * 280 + secret  # the cut falls inside the secret: it must already be gone
    kept = error_text(text, Redactor([secret]))
    assert "abcdefghij" not in kept and kept.endswith("[redacted]")


@pytest.mark.parametrize("retry_after", ["99999999999", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_an_absurd_retry_after_holds_a_slack_url_at_most_the_cap(receiver: Receiver, retry_after: str) -> None:
    receiver.answer(Answer(429, "rate_limited", headers={"Retry-After": retry_after}))
    url = receiver.url("/services/T000/B000/abcdefghijklmnopqrstuvwx")
    config = SlackChannel.model_validate({"type": "slack", "url": url})

    async def go() -> tuple[DeliveryError | None, float]:
        ctx = SendContext.create()
        sender = build_sender("ops", config, ctx)
        try:
            await sender.send(seed_note(), now=datetime.now(UTC))
        except DeliveryError as exc:
            return exc, ctx.pacer.held_for(ctx.pacer.key(url))
        finally:
            await ctx.aclose()
        return None, 0.0

    error, held = asyncio.run(go())
    assert error is not None and not error.permanent
    assert RETRY_AFTER_CAP - 5 < held <= RETRY_AFTER_CAP
