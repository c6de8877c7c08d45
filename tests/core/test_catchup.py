"""The catch-up decision as a table: a pure function of the deadline, `now` and what the ledger knows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.catchup import Action, Known, Reason, decide
from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.notification import delivery_key
from alertd.core.timerules import parse_due

DUE = datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LEADS = ("1d", "6h", "1h", "0")


def deadline(leads=LEADS, channels=("hook",)) -> Deadline:
    return Deadline(id="d", title="D", timezone="UTC", written=parse_due("2021-05-21T21:00:00Z"), due=DUE,
                    leads=tuple(parse_lead(x) for x in leads), channels=channels)


def key(lead: str, channel: str = "hook") -> str:
    return delivery_key("d", parse_lead(lead), DUE, channel)


def table(decisions) -> dict[str, tuple[Action, Reason]]:
    return {d.alert.lead.iso: (d.action, d.reason) for d in decisions}


SEEN = DUE - timedelta(days=30)


@pytest.mark.parametrize(("now", "known", "first_seen", "expected"), [
    pytest.param(DUE - 2 * timedelta(days=1), {}, SEEN, {}, id="nothing-passed-yet"),
    pytest.param(DUE - timedelta(days=1), {}, SEEN,
                 {"P1D": (Action.SEND, Reason.DUE_NOW)}, id="on-time-reminder"),
    pytest.param(DUE - 30 * 60 * timedelta(seconds=1), {}, SEEN,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SEND, Reason.DUE_NOW)}, id="downtime-sends-only-latest-reminder"),
    pytest.param(DUE - 30 * 60 * timedelta(seconds=1), {}, None,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SEND, Reason.DUE_NOW)}, id="brand-new-deadline-still-ahead-is-like-downtime"),
    pytest.param(DUE - 30 * 60 * timedelta(seconds=1), {key("1d"): Known("sent")}, SEEN,
                 {"P1D": (Action.SKIP, Reason.RECORDED), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SEND, Reason.DUE_NOW)}, id="sent-ones-are-left-alone"),
    pytest.param(DUE - 30 * 60 * timedelta(seconds=1), {key("1h"): Known("sent")}, SEEN,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SKIP, Reason.RECORDED)}, id="latest-already-sent-supersedes-older"),
    pytest.param(DUE + 30 * 60 * timedelta(seconds=1), {}, SEEN,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT0S": (Action.SEND, Reason.DUE_NOW)},
                 id="at-deadline-within-window-is-sent"),
    pytest.param(DUE + HOUR, {}, SEEN,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT0S": (Action.SEND, Reason.DUE_NOW)},
                 id="at-deadline-exactly-window-late-is-sent"),
    pytest.param(DUE + 2 * HOUR, {}, SEEN,
                 {"P1D": (Action.MISSED, Reason.DEADLINE_PASSED), "PT6H": (Action.MISSED, Reason.DEADLINE_PASSED),
                  "PT1H": (Action.MISSED, Reason.DEADLINE_PASSED), "PT0S": (Action.MISSED, Reason.BEYOND_CATCHUP)},
                 id="at-deadline-beyond-window-is-missed"),
    pytest.param(DUE + 30 * 60 * timedelta(seconds=1), {}, None,
                 {"P1D": (Action.SKIP, Reason.NEVER_SEEN), "PT6H": (Action.SKIP, Reason.NEVER_SEEN),
                  "PT1H": (Action.SKIP, Reason.NEVER_SEEN), "PT0S": (Action.SKIP, Reason.NEVER_SEEN)},
                 id="passed-before-ever-seen-sends-nothing"),
    pytest.param(DUE + 30 * 60 * timedelta(seconds=1), {}, DUE + timedelta(seconds=1),
                 {"P1D": (Action.SKIP, Reason.NEVER_SEEN), "PT6H": (Action.SKIP, Reason.NEVER_SEEN),
                  "PT1H": (Action.SKIP, Reason.NEVER_SEEN), "PT0S": (Action.SKIP, Reason.NEVER_SEEN)},
                 id="first-seen-after-due-sends-nothing"),
    pytest.param(DUE - 30 * 60 * timedelta(seconds=1), {key("1h"): Known("sending", attempts=1)}, SEEN,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SEND, Reason.CRASH_RESEND)}, id="crash-left-sending-is-resent"),
    pytest.param(DUE - 30 * 60 * timedelta(seconds=1),
                 {key("1h"): Known("pending", DUE - 20 * 60 * timedelta(seconds=1), attempts=2)}, SEEN,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.WAIT, Reason.RETRY_SCHEDULED)}, id="scheduled-retry-waits"),
    pytest.param(DUE - 30 * 60 * timedelta(seconds=1),
                 {key("1h"): Known("pending", DUE - 40 * 60 * timedelta(seconds=1), attempts=2)}, SEEN,
                 {"P1D": (Action.SUPERSEDED, Reason.LATER_ALERT), "PT6H": (Action.SUPERSEDED, Reason.LATER_ALERT),
                  "PT1H": (Action.SEND, Reason.RETRY_DUE)}, id="retry-that-came-due-is-sent"),
    pytest.param(DUE + 2 * HOUR, {key("0"): Known("pending", DUE + 3 * HOUR, attempts=3)}, SEEN,
                 {"P1D": (Action.MISSED, Reason.DEADLINE_PASSED), "PT6H": (Action.MISSED, Reason.DEADLINE_PASSED),
                  "PT1H": (Action.MISSED, Reason.DEADLINE_PASSED), "PT0S": (Action.FAILED, Reason.BEYOND_CATCHUP)},
                 id="retried-at-deadline-alert-beyond-window-fails"),
])
def test_catchup_decision(now, known, first_seen, expected):
    got = decide(deadline(), now=now, window=HOUR, known=known, first_seen=first_seen)
    assert table(got) == expected


def test_it_decides_per_channel():
    """Each channel has its own latest reminder: one already sent on a channel does not silence another."""
    d = deadline(channels=("a", "b"))
    now = DUE - 30 * 60 * timedelta(seconds=1)
    got = decide(d, now=now, window=HOUR, known={key("1h", "a"): Known("sent")}, first_seen=SEEN)
    sends = {(x.channel, x.alert.lead.iso) for x in got if x.action is Action.SEND}
    assert sends == {("b", "PT1H")}


def test_busy_keys_are_left_to_the_delivery_in_progress():
    now = DUE - timedelta(days=1)
    got = decide(deadline(), now=now, window=HOUR, known={}, first_seen=SEEN, busy={key("1d")})
    assert table(got) == {"P1D": (Action.SKIP, Reason.IN_PROGRESS)}


def test_reminders_at_the_same_instant_all_go():
    """Two leads that land on one instant (1d and 24h in UTC) are both on time: neither supersedes the other."""
    now = DUE - timedelta(hours=23)
    got = decide(deadline(leads=("1d", "24h", "0")), now=now, window=HOUR, known={}, first_seen=SEEN)
    assert {x.alert.lead.iso: x.action for x in got} == {"P1D": Action.SEND, "PT24H": Action.SEND}


def test_late_by_counts_from_the_planned_instant():
    now = DUE - timedelta(minutes=30)
    [*_, latest] = decide(deadline(), now=now, window=HOUR, known={}, first_seen=SEEN)
    assert latest.late_by(now) == timedelta(minutes=30)


@pytest.mark.parametrize(("late", "window", "action"), [
    (timedelta(milliseconds=3), timedelta(0), Action.SEND),  # ALERTD_CATCHUP=0: on time is still on time
    (timedelta(seconds=59), timedelta(0), Action.SEND),  # ... a busy midnight takes seconds to work through
    (timedelta(seconds=61), timedelta(0), Action.MISSED),  # ... but nothing is caught up after downtime
    (timedelta(minutes=30), HOUR, Action.SEND),
    (timedelta(minutes=61), HOUR, Action.MISSED),
])
def test_a_zero_catch_up_window_misses_only_what_is_really_late(late: timedelta, window: timedelta,
                                                                 action: Action) -> None:
    decisions = decide(deadline(leads=("0",)), now=DUE + late, window=window, known={}, first_seen=SEEN)
    assert [d.action for d in decisions] == [action]
