"""PagerDuty Events API v2 end to end against a loopback server answering as the Events API documents."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from alertd.delivery.channels.clip import MARK
from alertd.delivery.channels.pagerduty import dedup_key, event_action
from tests.peers import Answer, Receiver
from tests.seed import utc

from .kit import HOSTILE_TITLE, LONG_NOTES, ON_TIME, SEED_DUES, attempt, channel, note

ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
ACCEPTED = json.dumps({"status": "success", "message": "Event processed", "dedup_key": "x"})


def pagerduty(receiver: Receiver, **extra: object):
    return channel({"type": "pagerduty", "routing_key": ROUTING_KEY, "url": receiver.url("/v2/enqueue"), **extra})


def test_an_alert_triggers_with_one_dedup_key_per_deadline_due(receiver: Receiver) -> None:
    receiver.answer(Answer(202, ACCEPTED))
    n = note("1d", links=("https://example.org/story",))
    assert asyncio.run(attempt(pagerduty(receiver), n)) is None
    (seen,) = receiver.seen
    assert (seen.method, seen.path) == ("POST", "/v2/enqueue")
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "alertd/us-diplomats-leave-russia/2021-05-21T21:00:00Z",
        "payload": {
            "summary": "Ten US diplomats must leave Russia: in 1 day (due Fri 21 May 2021, 24:00 MSK)",
            "source": "alertd", "severity": "info", "timestamp": "2021-05-20T21:00:00Z",
            "component": "us-diplomats-leave-russia", "class": "deadline.reminder",
            "custom_details": {"kind": "deadline.reminder", "headline": "in 1 day", "due": "2021-05-21T21:00:00Z",
                               "due_local": [d.removeprefix("Due ") for d in SEED_DUES], "lead": "P1D",
                               "alert_id": n.key, "notes": n.deadline.notes, "tags": ["russia", "usa", "diplomacy"]},
        },
        "client": "alertd",
        "links": [{"href": "https://example.org/story", "text": "https://example.org/story"}],
    }


def test_every_alert_of_one_due_shares_the_key_and_another_due_does_not() -> None:
    keys = {dedup_key(note(lead, kind=kind)) for lead, kind in
            [("7d", None), ("1d", None), ("0", None), ("0", "deadline.overdue"), ("0", "deadline.escalation"),
             ("0", "deadline.done")]}
    assert len(keys) == 1
    n = note("1d")
    extended = replace(n, deadline=replace(n.deadline, due=utc(2021, 5, 22, 21)))
    assert dedup_key(extended) == "alertd/us-diplomats-leave-russia/2021-05-22T21:00:00Z"


@pytest.mark.parametrize(("kind", "action"), [
    ("deadline.reminder", "trigger"), ("deadline.due", "trigger"), ("deadline.overdue", "trigger"),
    ("deadline.escalation", "trigger"), ("alertd.test", "trigger"), ("deadline.acknowledged", "acknowledge"),
    ("deadline.done", "resolve"), ("deadline.snoozed", "acknowledge"),
])
def test_the_event_action_by_kind(kind: str, action: str) -> None:
    assert event_action(kind) == action


@pytest.mark.parametrize(("kind", "action"), [("deadline.acknowledged", "acknowledge"), ("deadline.done", "resolve")])
def test_acknowledge_and_resolve_carry_only_the_key(receiver: Receiver, kind: str, action: str) -> None:
    receiver.answer(Answer(202, ACCEPTED))
    assert asyncio.run(attempt(pagerduty(receiver), note("0", kind=kind), now=utc(2021, 5, 21, 22))) is None
    assert receiver.seen[0].json() == {"routing_key": ROUTING_KEY, "event_action": action,
                                       "dedup_key": "alertd/us-diplomats-leave-russia/2021-05-21T21:00:00Z"}


@pytest.mark.parametrize(("lead", "kind", "now", "severity"), [
    ("1d", None, ON_TIME, "info"), ("6h", None, utc(2021, 5, 21, 15), "warning"),
    ("0", None, utc(2021, 5, 21, 21), "error"), ("0", "deadline.overdue", utc(2021, 5, 21, 22), "critical"),
    ("0", "deadline.escalation", utc(2021, 5, 21, 22), "critical"),
])
def test_severity_rises_with_the_kind(receiver: Receiver, lead: str, kind: str | None, now, severity: str) -> None:
    assert asyncio.run(attempt(pagerduty(receiver), note(lead, kind=kind), now=now)) is None
    assert receiver.seen[0].json()["payload"]["severity"] == severity


def test_a_long_summary_is_cut_to_1024_and_the_title_kept_unescaped(receiver: Receiver) -> None:
    assert asyncio.run(attempt(pagerduty(receiver), note(title=HOSTILE_TITLE + "x" * 480, notes=LONG_NOTES))) is None
    payload = receiver.seen[0].json()["payload"]
    assert payload["summary"].startswith(HOSTILE_TITLE)
    assert len(payload["summary"]) <= 1024
    assert payload["custom_details"]["notes"].endswith(MARK)


def test_429_waits_30_seconds_as_pagerduty_suggests(receiver: Receiver) -> None:
    receiver.answer(Answer(429, json.dumps({"status": "throttle event", "message": "Requests for this service are "
                                            "arriving too quickly.  Please retry later."})))
    error = asyncio.run(attempt(pagerduty(receiver), note()))
    assert error is not None
    assert (error.permanent, error.retry_after) == (False, 30.0)


def test_400_is_final_and_says_why(receiver: Receiver) -> None:
    receiver.answer(Answer(400, json.dumps({"status": "invalid event", "message": "Event object is invalid",
                                            "errors": ["Length of 'routing_key' is incorrect (should be 32 "
                                                       "characters)"]})))
    error = asyncio.run(attempt(pagerduty(receiver), note(), secrets=(ROUTING_KEY,)))
    assert error is not None and error.permanent
    assert str(error) == "HTTP 400: Length of 'routing_key' is incorrect (should be 32 characters)"


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (502, False), (503, False), (404, True)])
def test_the_verdict_by_status(receiver: Receiver, status: int, permanent: bool) -> None:
    receiver.answer(Answer(status, "{}"))
    error = asyncio.run(attempt(pagerduty(receiver), note()))
    assert error is not None and error.permanent is permanent


def test_a_hanging_endpoint_is_a_retryable_timeout(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))
    error = asyncio.run(attempt(pagerduty(receiver, timeout=0.3), note()))
    assert error is not None
    assert (str(error), error.permanent) == ("no answer within 0.3 s", False)
