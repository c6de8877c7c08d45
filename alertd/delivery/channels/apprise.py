"""apprise: the long tail of services, by apprise URL (the optional extra `alertd[apprise]`).

apprise is synchronous (requests), so each URL's `notify` runs in a small thread pool of its
own, awaited with the channel's `timeout`: a slow or hung service costs one pool thread,
never the event loop. A thread that outlives its timeout cannot be killed; the pool's bound
keeps such threads few, and a send that cannot get a thread in time fails (retried) instead
of queueing without end.

apprise reports success or failure per URL, with no retry advice, so a failure is retried
(section 6's backoff); URLs apprise cannot use are config errors (`alertd check`). With
several URLs, the ones that accepted a notification are not sent it again on a retry.
apprise's own log lines show parts of the URLs (the credentials): they never reach
alertd's log; a failure's reason is taken from them with every URL cut out and redacted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from alertd.config.channels import AppriseChannel, load_apprise
from alertd.core.message import one_line, render
from alertd.core.notification import Notification
from alertd.delivery.channels.base import DeliveryError, SendContext
from alertd.delivery.channels.clip import clip_chars
from alertd.delivery.channels.tone import tone

__all__ = ["AppriseSender"]

_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="alertd-apprise")
_URLS = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)
_TITLE_MAX = 250
_BODY_MAX = 4000  # apprise splits or truncates per service beyond this; keep one readable message
_NOTIFY_TYPE = {"test": "info", "notice": "success", "reminder": "info", "soon": "warning", "due": "failure",
                "overdue": "failure", "escalation": "failure"}


class _Reasons(logging.Handler):
    """Collects apprise's warnings and errors per thread, so each send sees only its own."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.by_thread: dict[int, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:  # logging holds the handler's lock here
        self.by_thread.setdefault(record.thread or 0, []).append(record.getMessage())

    def take(self) -> list[str]:
        return self.by_thread.pop(threading.get_ident(), [])


_reasons = _Reasons()


def _notify(url: str, title: str, body: str, notify_type: str) -> tuple[bool, list[str]]:
    """One URL's notification (blocking, in a pool thread): whether it was accepted, and apprise's reasons."""
    apprise = load_apprise()
    client = apprise.Apprise()
    _reasons.take()
    if not client.add(url):
        return False, ["apprise cannot use this URL"]
    ok = bool(client.notify(body=body, title=title, notify_type=notify_type))
    return ok, _reasons.take()


class AppriseSender:
    def __init__(self, name: str, config: AppriseChannel, ctx: SendContext) -> None:
        self.name = name
        self.config = config
        self.ctx = ctx
        try:
            load_apprise()
        except ValueError as exc:  # the extra is not installed
            raise DeliveryError(str(exc), permanent=True) from None
        logger = logging.getLogger("apprise")
        if _reasons not in logger.handlers:
            logger.addHandler(_reasons)
        self._urls = [u.get_secret_value() for u in config.urls]
        self._accepted: dict[str, set[int]] = {}  # delivery key -> URLs (by index) that took it

    async def send(self, note: Notification, *, now: datetime) -> None:
        msg = render(note, now=now, channel_zone=self.config.timezone)
        title = clip_chars(f"{one_line(msg.title)} — {msg.headline}", _TITLE_MAX)
        body = clip_chars(msg.text, _BODY_MAX)
        kind = _NOTIFY_TYPE[tone(note, now=now)]
        if len(self._accepted) > 1000:  # deliveries given up on leave theirs behind
            self._accepted.clear()
        done = self._accepted.setdefault(note.key, set())
        loop = asyncio.get_running_loop()
        failures: list[str] = []
        for i, url in enumerate(self._urls):
            if i in done:
                continue
            try:
                async with asyncio.timeout(self.config.timeout):
                    ok, reasons = await loop.run_in_executor(_POOL, _notify, url, title, body, kind)
            except TimeoutError:
                failures.append(f"urls[{i}]: no answer within {self.config.timeout:g} s")
                continue
            if ok:
                done.add(i)
            else:
                failures.append(f"urls[{i}]: " + (self._reason(reasons) or "not accepted"))
        if failures:
            raise DeliveryError("apprise: " + "; ".join(failures))
        self._accepted.pop(note.key, None)

    def _reason(self, reasons: list[str]) -> str:
        text = " ".join(_URLS.sub("[url]", self.ctx.redact(r)) for r in reasons[-2:])
        return one_line(text)[:160]
