"""Small daemon parts on real sockets and streams: sd_notify, the log redaction, group commit."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import uuid
from datetime import UTC, datetime

import pytest
import structlog

from alertd.daemon.notify import Notifier
from alertd.logs import configure_logging
from alertd.redact import Redactor
from alertd.store.base import NewRow
from alertd.store.groupcommit import GroupCommit
from alertd.store.ledger import Ledger

NOW = datetime(2021, 5, 20, 21, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _structlog_defaults():
    yield
    structlog.reset_defaults()  # configure_logging is process-wide: leave other tests the defaults


def test_notify_speaks_to_an_abstract_socket():
    name = f"@alertd-unit-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name[1:])
        sock.settimeout(2)
        n = Notifier({"NOTIFY_SOCKET": name})
        assert n.ready("3 deadlines")
        assert sock.recv(4096).decode().splitlines() == ["READY=1", "STATUS=3 deadlines"]
        assert n.reloading()
        lines = sock.recv(4096).decode().splitlines()
        assert lines[0] == "RELOADING=1"
        assert lines[1].startswith("MONOTONIC_USEC=")
        n.close()


def test_notify_without_a_socket_is_a_no_op():
    assert not Notifier({}).ready()


def test_the_watchdog_period_is_half_of_watchdog_usec_and_only_for_this_pid():
    assert Notifier({"WATCHDOG_USEC": "20000000"}).watchdog_interval == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({}).watchdog_interval is None


def test_no_secret_reaches_a_log_line():
    out = io.StringIO()
    redact = Redactor(["https://hooks.example.org/T000/B000/XXXX"])
    configure_logging("info", "auto", redact, stream=out, env={})
    structlog.get_logger("t").error("alert.failed", error="POST https://hooks.example.org/T000/B000/XXXX: 500",
                                    nested={"url": ["https://hooks.example.org/T000/B000/XXXX"]})
    event = json.loads(out.getvalue())  # not a TTY: JSON
    assert event["event"] == "alert.failed"
    assert "XXXX" not in out.getvalue()
    assert event["error"] == "POST [redacted]: 500"


def test_the_log_is_json_under_journald_even_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    configure_logging("info", "auto", Redactor(), stream=out, env={"JOURNAL_STREAM": "8:1234"})
    structlog.get_logger("t").info("daemon.ready", deadlines=1)
    assert json.loads(out.getvalue())["event"] == "daemon.ready"


def test_a_logged_exception_is_text_redacted_also_on_a_console():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    secret = "hunter2-" + "0123456789abcdef"
    for fmt in ("json", "console"):
        out = Tty()
        configure_logging("info", fmt, Redactor([secret]), stream=out, env={})
        try:
            password = secret  # a local variable: a rich traceback would print it
            raise RuntimeError(f"cannot log in with {password}")
        except RuntimeError:
            structlog.get_logger("t").exception("http.error")
        text = out.getvalue()
        assert secret not in text and "cannot log in with [redacted]" in text and "RuntimeError" in text
        assert "test_a_logged_exception_is_text_redacted_also_on_a_console" in text  # the traceback


def test_group_commit_records_marks_of_one_iteration_together(tmp_path):
    with Ledger.open(tmp_path / "ledger.sqlite3") as led:
        led.record([NewRow(f"k{i}", "d", "PT0S", NOW, "c", NOW, "pending") for i in range(50)], now=NOW)
        marks = GroupCommit(led)

        async def deliver(key: str) -> None:
            await marks.sending(key, now=NOW)
            assert led.get(key).state == "sending"  # committed before the "request" leaves
            await marks.sent(key, now=NOW)

        async def main() -> None:
            await asyncio.gather(*(deliver(f"k{i}") for i in range(50)))

        asyncio.run(main())
        assert led.counts() == {"sent": 50}
        assert {r.attempts for r in led.iter_all()} == {1}
