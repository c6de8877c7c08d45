"""Posting to an HTTP receiver and judging its answer: the one helper every HTTP channel calls.

Verdicts (the daemon's dispatcher schedules the retries): network errors, timeouts,
408, 429 and 5xx are worth retrying, honouring `Retry-After`; any other non-2xx is
permanent. No message built here holds the URL, a header value or unredacted body
text: a Slack webhook URL is itself a credential.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.redact import url_secrets

__all__ = ["body_hint", "json_body", "post", "raise_for_status", "request", "retry_after_seconds", "url_secrets"]

_RETRYABLE = frozenset({408, 429})
_HINT_CHARS = 120
_BACKSTOP = 3
_X509_HOSTNAME_MISMATCH = 62


async def post(ctx: SendContext, url: str, *, content: bytes, headers: Mapping[str, str],
               time_limit: float) -> httpx.Response:
    """POST `content` to `url` and return the response, whatever its status (see `request`)."""
    return await request(ctx, "POST", url, content=content, headers=headers, time_limit=time_limit)


async def request(ctx: SendContext, method: str, url: str, *, content: bytes, headers: Mapping[str, str],
                  time_limit: float) -> httpx.Response:
    """Send `content` to `url` with `method` (POST, or PUT for Matrix) and return the response.

    Raises a retryable DeliveryError for a network error or a timeout: connecting,
    waiting for a pooled connection and each read get `time_limit` seconds; the whole
    exchange gets a backstop of a few times that, so a receiver that drips its answer
    cannot hold a delivery forever, while a burst queued behind the pool (2,000 alerts
    at midnight, bench/http_transport.md) is not failed for the queueing alone.
    """
    backstop = asyncio.timeout(time_limit * _BACKSTOP)
    answered = False  # the status line and headers came: what is left is reading the body
    try:
        async with backstop:
            built = ctx.http.build_request(method, url, content=content, headers=dict(headers), timeout=time_limit)
            response = await ctx.http.send(built, stream=True)
            answered = True
            try:
                await response.aread()
            finally:
                await response.aclose()
    except (TimeoutError, httpx.HTTPError) as exc:
        untrusted = _untrusted_certificate(exc)
        if untrusted:
            # A certificate that does not verify will not verify on retry; verification
            # is never switched off, the receiver (or the URL) has to be fixed.
            raise DeliveryError(f"TLS certificate not trusted: {untrusted}", permanent=True) from None
        reason = None if backstop.expired() else _network_reason(exc)
        if reason is not None:
            raise DeliveryError(f"network error: {reason}") from None
        # A timeout: say which part of the exchange did not finish (never "CancelledError").
        limit = time_limit * _BACKSTOP if backstop.expired() else time_limit
        if answered:
            raise DeliveryError(f"read timed out: the response did not finish within {limit:g} s") from None
        if url.startswith("https:"):
            raise DeliveryError(f"no answer within {limit:g} s: the connection, its TLS handshake or the response "
                                "headers did not come (a plain-HTTP server behind an https:// URL looks so)") from None
        raise DeliveryError(f"no answer within {limit:g} s") from None
    return response


def raise_for_status(response: httpx.Response, ctx: SendContext, *, now: datetime,
                     permanent: bool | None = None, detail: str | None = None,
                     retry_after: float | None = None) -> None:
    """Return for a 2xx answer; raise DeliveryError with the verdict otherwise.

    `permanent` overrides the verdict by status (a channel that knows its service better
    says so); `detail` is shown after the status, default a short redacted body excerpt;
    `retry_after` is the service's own wait hint (a JSON field), used when the answer
    has no `Retry-After` header.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    retry = status in _RETRYABLE or status >= 500
    if detail is None:
        detail = body_hint(response, ctx)
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    if 300 <= status < 400:
        message += " (redirects are not followed; configure the final URL)"
    raise DeliveryError(
        message,
        permanent=(not retry) if permanent is None else permanent,
        retry_after=_first(retry_after_seconds(response.headers.get("Retry-After"), now=now), retry_after)
        if retry else None,
    )


def body_hint(response: httpx.Response, ctx: SendContext) -> str:
    """The start of the response body on one line, redacted: enough to tell errors apart."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return ""
    text = " ".join(ctx.redact(text).split())
    printable = "".join(c for c in text if c.isprintable())
    return printable[:_HINT_CHARS] + ("…" if len(printable) > _HINT_CHARS else "")


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or {} when it is not one (a proxy's HTML error page)."""
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value)) if value.replace(".", "", 1).isdigit() else _date_delta(value, now)
    except (TypeError, ValueError, OverflowError):
        return None


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _date_delta(value: str, now: datetime) -> float | None:
    when = email.utils.parsedate_to_datetime(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def _untrusted_certificate(exc: BaseException) -> str | None:
    """OpenSSL's reason when the peer's certificate failed verification, else None."""
    # aiohttp wraps OpenSSL's error in its own subclass without the verify fields.
    failed = [link for link in _chain(exc) if isinstance(link, ssl.SSLCertVerificationError)]
    for link in failed:
        code = getattr(link, "verify_code", None)
        if code == _X509_HOSTNAME_MISMATCH:
            return "it is not valid for the host name"  # OpenSSL's text would name the host
        if code is not None:
            return str(link.verify_message or "verification failed")
    return "verification failed" if failed else None


def _network_reason(exc: BaseException) -> str | None:
    """Why the exchange failed, or None when it timed out; never the exception's own text.

    The text of a connection error names the host and port (part of the URL, a secret
    for Slack). The aiohttp transport reports a refused connection as httpx's
    ConnectTimeout, so the cause chain decides, not the outer type.
    """
    chain = _chain(exc)
    if any(isinstance(link, ssl.SSLError) for link in chain):
        return "TLS handshake failed"
    if any(isinstance(link, socket.gaierror) for link in chain):
        return "host name not resolved"
    for link in chain:
        if isinstance(link, OSError) and not isinstance(link, TimeoutError) and (link.errno or 0) > 0:
            return os.strerror(link.errno).lower()
    innermost = chain[-1]
    if isinstance(innermost, TimeoutError | httpx.TimeoutException | asyncio.CancelledError):
        return None
    return _KNOWN_REASONS.get(type(innermost).__name__, type(innermost).__name__)


# aiohttp's names for a response that broke off, as an operator would say it
_KNOWN_REASONS = {
    "ContentLengthError": "the response was shorter than its Content-Length",
    "ServerDisconnectedError": "the receiver closed the connection",
    "ClientPayloadError": "the response body could not be read",
    "TransferEncodingError": "the response's chunked encoding broke off",
}
