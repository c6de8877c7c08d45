"""The catch-up decision as a table: a pure function of the deadline, `now` and what the ledger knows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.catchup import Action, Known, Reason, decide
from alertd.core.leads import Lead, parse_lead
from alertd.core.model import AfterDue, Deadline, Step
from alertd.core.notification import delivery_key
from alertd.core.state import Act, DeadlineState
from alertd.core.state import Action as Did
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
# -- after the due: repeats, escalation steps and what people did ------------------------------

MIN = timedelta(minutes=1)


def overdue(leads=("1h", "0"), channels=("hook",), repeat=30 * 60, repeat_for=2 * 3600, steps=()) -> Deadline:
    return Deadline(id="d", title="D", timezone="UTC", written=parse_due("2021-05-21T21:00:00Z"), due=DUE,
                    leads=tuple(parse_lead(x) for x in leads), channels=channels,
                    after=AfterDue(repeat, repeat_for, steps))


def after_key(seconds: int, channel: str = "hook") -> str:
    return delivery_key("d", Lead.after_due(seconds), DUE, channel)


def by_channel(decisions) -> dict[tuple[str, str], tuple[Action, Reason]]:
    return {(d.channel, d.alert.lead.iso): (d.action, d.reason) for d in decisions}


def state(**acts) -> DeadlineState:
    return DeadlineState(**{k: Did("d", DUE, Act(v[0]), "alice", v[1], until=v[2] if len(v) > 2 else None)
                            for k, v in acts.items()})


SENT = {key("1h"): Known("sent"), key("0"): Known("sent")}


@pytest.mark.parametrize(("now", "known", "st", "expected"), [
    pytest.param(DUE + 30 * MIN, SENT, None,
                 {("hook", "PT1H"): (Action.SKIP, Reason.RECORDED), ("hook", "PT0S"): (Action.SKIP, Reason.RECORDED),
                  ("hook", "-PT30M"): (Action.SEND, Reason.DUE_NOW)}, id="on-time-repeat"),
    pytest.param(DUE + 100 * MIN, {}, None,
                 {("hook", "PT1H"): (Action.SUPERSEDED, Reason.LATER_ALERT),
                  ("hook", "PT0S"): (Action.SUPERSEDED, Reason.LATER_ALERT),
                  ("hook", "-PT1H30M"): (Action.SEND, Reason.DUE_NOW)},
                 id="downtime-sends-only-the-latest-repeat"),
    pytest.param(DUE + 5 * 60 * MIN, {}, None,
                 {("hook", "PT1H"): (Action.MISSED, Reason.DEADLINE_PASSED),
                  ("hook", "PT0S"): (Action.MISSED, Reason.BEYOND_CATCHUP),
                  ("hook", "-PT2H"): (Action.MISSED, Reason.BEYOND_CATCHUP)},
                 id="the-last-repeat-beyond-the-window-is-missed"),
    pytest.param(DUE + 40 * MIN, SENT, state(acked=("ack", DUE - HOUR)),
                 {("hook", "PT1H"): (Action.SKIP, Reason.RECORDED), ("hook", "PT0S"): (Action.SKIP, Reason.RECORDED),
                  ("hook", "-PT30M"): (Action.SKIP, Reason.ACKNOWLEDGED)}, id="acked-sends-no-repeat"),
    pytest.param(DUE - 30 * MIN, {}, state(acked=("ack", DUE - HOUR)),
                 {("hook", "PT1H"): (Action.SEND, Reason.DUE_NOW)}, id="ack-before-the-due-keeps-reminders"),
    pytest.param(DUE + 10 * MIN, {}, state(acked=("ack", DUE - HOUR)),
                 {("hook", "PT1H"): (Action.SUPERSEDED, Reason.LATER_ALERT),
                  ("hook", "PT0S"): (Action.SEND, Reason.DUE_NOW)}, id="ack-before-the-due-keeps-the-due-alert"),
    pytest.param(DUE + 40 * MIN, {**SENT, after_key(1800): Known("pending", DUE + 41 * MIN, attempts=1)},
                 state(acked=("ack", DUE + 35 * MIN)),
                 {("hook", "PT1H"): (Action.SKIP, Reason.RECORDED), ("hook", "PT0S"): (Action.SKIP, Reason.RECORDED),
                  ("hook", "-PT30M"): (Action.SUPERSEDED, Reason.ACKNOWLEDGED)},
                 id="an-ack-closes-a-repeat-waiting-for-its-retry"),
    pytest.param(DUE - 30 * MIN, {}, state(done=("done", DUE - 2 * HOUR)),
                 {("hook", "PT1H"): (Action.SKIP, Reason.DONE)}, id="done-before-the-due-stops-reminders"),
    pytest.param(DUE + 40 * MIN, {key("1h"): Known("sent"), key("0"): Known("pending", DUE + HOUR, attempts=2)},
                 state(done=("done", DUE + 35 * MIN)),
                 {("hook", "PT1H"): (Action.SKIP, Reason.RECORDED), ("hook", "PT0S"): (Action.SUPERSEDED, Reason.DONE),
                  ("hook", "-PT30M"): (Action.SKIP, Reason.DONE)}, id="done-closes-everything-open"),
    pytest.param(DUE + 40 * MIN, {**SENT, after_key(1800): Known("pending", DUE + 41 * MIN, attempts=1)},
                 state(snoozed=("snooze", DUE + 35 * MIN, DUE + 3 * HOUR)),
                 {("hook", "PT1H"): (Action.SKIP, Reason.RECORDED), ("hook", "PT0S"): (Action.SKIP, Reason.RECORDED),
                  ("hook", "-PT30M"): (Action.SKIP, Reason.SNOOZED)}, id="a-snooze-holds-a-waiting-retry"),
    pytest.param(DUE - 10 * MIN, {}, state(snoozed=("snooze", DUE - 3 * HOUR, DUE - 10 * MIN)),
                 {("hook", "PT1H"): (Action.SEND, Reason.DUE_NOW)}, id="a-snooze-ending-releases-the-held-reminder"),
    pytest.param(DUE + 70 * MIN, {key("1h"): Known("sent")}, state(snoozed=("snooze", DUE - 5 * MIN, DUE + 70 * MIN)),
                 {("hook", "PT1H"): (Action.SKIP, Reason.RECORDED),
                  ("hook", "PT0S"): (Action.SUPERSEDED, Reason.LATER_ALERT),
                  ("hook", "-PT1H"): (Action.SEND, Reason.DUE_NOW)},
                 id="a-snooze-ending-sends-only-the-latest-held-alert"),
])
def test_after_the_due(now, known, st, expected):
    got = decide(overdue(), now=now, window=HOUR, known=known, first_seen=SEEN, state=st)
    assert by_channel(got) == expected


def test_a_step_goes_to_its_own_channel_late_after_downtime_and_a_repeat_to_the_deadlines() -> None:
    d = overdue(channels=("ops",), steps=(Step(15 * 60, ("duty",)), Step(30 * 60, ("ops", "boss"))))
    got = decide(d, now=DUE + 40 * MIN, window=HOUR, known={}, first_seen=SEEN)
    assert {k: v for k, v in by_channel(got).items() if v[0] is Action.SEND} == {
        ("ops", "-PT30M"): (Action.SEND, Reason.DUE_NOW),  # the step, not a repeat: one alert per instant
        ("duty", "-PT15M"): (Action.SEND, Reason.DUE_NOW),  # 25 min late: within the window
        ("boss", "-PT30M"): (Action.SEND, Reason.DUE_NOW),
    }
    step = next(x for x in got if x.channel == "ops" and x.alert.lead.iso == "-PT30M")
    assert step.alert.kind == "deadline.escalation" and step.alert.step == 2


def test_an_older_repeats_open_retry_is_superseded_by_the_latest() -> None:
    """Only the latest repeat is a candidate; the ledger's open rows bring the older ones in."""
    known = {**SENT, after_key(1800): Known("pending", DUE + 70 * MIN, attempts=1)}
    got = decide(overdue(), now=DUE + 60 * MIN, window=HOUR, known=known, first_seen=SEEN,
                 open_after=[(Lead.after_due(1800), "hook")])
    assert by_channel(got)[("hook", "-PT30M")] == (Action.SUPERSEDED, Reason.LATER_ALERT)
    assert by_channel(got)[("hook", "-PT1H")] == (Action.SEND, Reason.DUE_NOW)


def test_an_open_delivery_the_config_no_longer_has_is_closed() -> None:
    known = {**SENT, after_key(1200): Known("pending", DUE + 70 * MIN, attempts=1)}
    got = decide(overdue(), now=DUE + 25 * MIN, window=HOUR, known=known, first_seen=SEEN,
                 open_after=[(Lead.after_due(1200), "hook"), (Lead.after_due(1200), "gone")])
    assert by_channel(got)[("hook", "-PT20M")] == (Action.SUPERSEDED, Reason.CHANGED)
    assert by_channel(got)[("gone", "-PT20M")] == (Action.SUPERSEDED, Reason.CHANGED)


def test_a_repeat_of_a_deadline_passed_before_it_was_seen_sends_nothing() -> None:
    got = decide(overdue(), now=DUE + 35 * MIN, window=HOUR, known={}, first_seen=None)
    assert {x.action for x in got} == {Action.SKIP} and {x.reason for x in got} == {Reason.NEVER_SEEN}


def test_a_cancelled_deadline_sends_nothing() -> None:
    d = Deadline(**{**{f: getattr(overdue(), f) for f in ("id", "title", "timezone", "written", "due", "leads",
                                                           "channels", "after")}, "status": "cancelled"})
    got = decide(d, now=DUE + 35 * MIN, window=HOUR, known={}, first_seen=SEEN)
    assert {x.reason for x in got} == {Reason.CANCELLED} and {x.action for x in got} == {Action.SKIP}
