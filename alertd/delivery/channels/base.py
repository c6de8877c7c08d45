"""What every sender shares: the error it raises and the context it is built with."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from httpx_aiohttp import AiohttpTransport

from alertd import __version__
from alertd.core.links import mask
from alertd.delivery.channels.pace import Pacer
from alertd.redact import Redactor

__all__ = ["ERROR_CHARS", "RETRY_AFTER_CAP", "USER_AGENT", "DeliveryError", "SendContext", "error_text"]

USER_AGENT = f"alertd/{__version__}"
RETRY_AFTER_CAP = 3600.0  # seconds: a receiver's Retry-After beyond this is not believed (retries and pacing)
ERROR_CHARS = 300  # a delivery error as kept in the ledger and shown: one line, at most this long


def error_text(text: str, redact: Redactor) -> str:
    """A delivery error fit for the ledger, logs and output: secrets redacted FIRST (a secret cut in
    two would no longer match), and action-link tokens masked (a receiver may echo the message), then one
    line of printable characters, bounded."""
    line = " ".join(mask(redact(text)).split())
    line = "".join(c if c.isprintable() else "\ufffd" for c in line)
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + "…"


class DeliveryError(Exception):
    """A delivery the receiver did not accept.

    `permanent` says retrying cannot help (a 404 webhook, an SMTP 5xx); `retry_after`
    is the receiver's requested wait in seconds, when it gave one; `reason` names a permanent
    failure in the ledger when "permanent" says too little (`recipients_refused`). The message never
    holds a secret: senders build it from status codes and redacted text.
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 reason: str | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.reason = reason  # the ledger's reason for a permanent failure; default "permanent"


@dataclass
class SendContext:
    """Shared resources for senders: one HTTP client (connection pool), the redactor, the pacers."""

    http: httpx.AsyncClient
    redact: Redactor = field(default_factory=Redactor)
    pacer: Pacer = field(default_factory=lambda: Pacer(cap=RETRY_AFTER_CAP))
    pacers: dict[float, Pacer] = field(default_factory=dict)  # by interval, for the other services

    def pacer_for(self, interval: float) -> Pacer:
        """The pacer shared by every sender that keeps `interval` seconds between messages to one
        receiver (0: no spacing, only the holds a service asks for with its rate-limit answers)."""
        if interval == self.pacer.interval:
            return self.pacer
        return self.pacers.setdefault(interval, Pacer(interval, cap=RETRY_AFTER_CAP))

    @classmethod
    def create(cls, redact: Redactor | None = None, *, max_connections: int = 200) -> SendContext:
        """A context with the measured transport: httpx's API over aiohttp's connection pool.

        bench/http_transport.md: at 100 in flight httpx's own pool managed about 150 req/s
        on 2 cores and spent ~16 CPU s on 3,000 POSTs; the aiohttp transport ~1,400 req/s
        and ~1.3 CPU s. 2,000 signed alerts through WebhookSender: 1.4 s instead of 12.4 s.
        `max_connections` should match the dispatcher's concurrency bound.
        """
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        client = httpx.AsyncClient(
            transport=AiohttpTransport(limits=limits),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        return cls(http=client, redact=redact or Redactor())

    async def aclose(self) -> None:
        await self.http.aclose()
