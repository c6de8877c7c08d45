"""Logging: structlog, one event per line, every value run through the Redactor.

JSON when standard error is not a terminal or under journald (`JOURNAL_STREAM`), readable
console lines on a terminal. Event names are stable (`alert.sent`, `alert.failed`,
`alert.retry`, `alert.superseded`, `alert.missed`, `config.reloaded`, `config.reload_failed`,
`daemon.ready`, `daemon.stopping`, `clock.jumped`, ...): tests and operators match on them.
An event logged with its exception (`log.exception`) carries `error_type`, `error` and `traceback`
as text, redacted like every value (in JSON the traceback stays on the event's one line).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from alertd.redact import Redactor

__all__ = ["configure_logging", "exception_fields"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _exception(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """`exc_info` (as `log.exception` sets it) as text values the Redactor then scrubs: the exception's
    type, message and traceback. No renderer sees the exception itself (a rich console traceback
    would show local variables, secrets among them)."""
    exc_info = event.pop("exc_info", None)
    if isinstance(exc_info, BaseException):
        exc: BaseException | None = exc_info
    elif isinstance(exc_info, tuple):
        exc = exc_info[1]
    else:
        exc = sys.exc_info()[1] if exc_info else None
    if exc is not None:
        for key, value in exception_fields(exc).items():
            event.setdefault(key, value)
    return event


def exception_fields(exc: BaseException) -> dict[str, str]:
    """An exception as the fields of a log event: `error_type`, `error` (its message), `traceback`."""
    return {"error_type": type(exc).__qualname__, "error": str(exc),
            "traceback": "".join(traceback.format_exception(exc)).rstrip("\n")}


def _redacting(redact: Redactor):
    def processor(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for k, v in event.items():
            if isinstance(v, str | dict | list | tuple):
                event[k] = redact.scrub(v)
            elif isinstance(v, BaseException):
                event[k] = redact(repr(v))
        return event

    return processor


class _ToStructlog(logging.Handler):
    """Library log records (APScheduler) as structlog events, so they are redacted and JSON too."""

    def emit(self, record: logging.LogRecord) -> None:
        structlog.get_logger(record.name).log(record.levelno, "library.log", message=record.getMessage())


def configure_logging(level: str, fmt: str, redact: Redactor, stream: TextIO | None = None,
                      env: MutableMapping[str, str] | None = None) -> None:
    """Configure structlog for the daemon. `fmt` is auto, json or console."""
    stream = stream or sys.stderr
    env = os.environ if env is None else env
    if fmt == "auto":
        fmt = "json" if env.get("JOURNAL_STREAM") or not stream.isatty() else "console"
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
                # in the order the event gives them (a `summary` sentence first), not sorted
                else structlog.dev.ConsoleRenderer(colors=stream.isatty(), sort_keys=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _exception,
            _redacting(redact),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # httpx logs request URLs at INFO (a URL can be a secret): keep it quiet; APScheduler's
    # warnings (a missed job would be a bug) come through as events.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    aps = logging.getLogger("apscheduler")
    aps.setLevel(logging.WARNING)
    aps.handlers[:] = [_ToStructlog()]
    aps.propagate = False
