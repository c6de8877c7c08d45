"""A handler that fails: the 500 says "the daemon's log says why", so the log must say why (the
exception's type, message and traceback, in one JSON line, secrets redacted)."""

from __future__ import annotations

import sqlite3

from tests.daemon.conftest import SECRET, just_passed


def test_a_failing_handler_logs_the_exception_with_its_traceback_redacted(served, tmp_path):
    s = served([just_passed("soon")])
    s.daemon.wait_event("alert.sent", timeout=60)
    # A row the ledger cannot read (its due is not an instant), keyed by the channel's secret: the
    # page's store call fails, and the error names the row.
    with sqlite3.connect(tmp_path / "state" / "ledger.sqlite3") as db:
        db.execute("INSERT INTO deliveries (key, deadline_id, lead, due, channel, fire_at, state, attempts, "
                   "updated_at) VALUES (?, 'soon', 'PT2H', 'not an instant', 'hook', "
                   "'2030-01-01T00:00:00.000000Z', 'sent', 1, '2999-01-01T00:00:00.000000Z')", (SECRET,))
    with s.client(auth=False) as c:
        resp = c.get("/")
    assert resp.status_code == 500 and "the daemon's log says why" in resp.text
    [event] = s.daemon.wait_event("http.error", timeout=30)
    assert event["path"] == "/" and "exc_info" not in event
    assert event["error_type"] == "LedgerError"
    assert "holds a value alertd cannot read" in event["error"] and "[redacted]" in event["error"]
    assert event["traceback"].startswith("Traceback (most recent call last)")
    assert "in status_page" in event["traceback"] and "LedgerError: ledger " in event["traceback"]
    s.daemon.stop()
    log = s.daemon.log_path.read_text()
    assert SECRET not in log and SECRET[6:] not in log
    [line] = [x for x in log.splitlines() if '"http.error"' in x]  # one line, whatever the traceback's length
    assert line.startswith("{") and line.endswith("}")
