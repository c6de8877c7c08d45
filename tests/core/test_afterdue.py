"""Repeats and escalation steps after the due: negative leads, elapsed time, pure functions of a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.afterdue import after_due_alert, after_due_alerts, next_after_due, passed_after_due
from alertd.core.leads import Lead, lead_from_iso, parse_lead
from alertd.core.model import AfterDue, Deadline, Step
from alertd.core.planner import next_alert, next_wake, plan
from alertd.core.state import Act, Action, DeadlineState
from alertd.core.timerules import due_instant, parse_due
from alertd.core.zones import get_zone

MIN = 60
HOUR = 3600


def make(due: str = "2021-05-21T21:00:00Z", zone: str = "UTC", *, repeat: int | None = 30 * MIN,
         repeat_for: int = 2 * HOUR, steps: tuple[Step, ...] = (), channels: tuple[str, ...] = ("ops",),
         remind: tuple[str, ...] = ("1h", "0"), status: str = "open") -> Deadline:
    written = parse_due(due)
    instant, how = due_instant(written, get_zone(zone))
    return Deadline(id="d", title="D", timezone=zone, written=written, due=instant,
                    leads=tuple(parse_lead(x) for x in remind), channels=channels, resolution=how,
                    status=status, after=AfterDue(repeat, repeat_for, steps))


def rows(alerts) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [(a.lead.iso, a.fire_at.strftime("%H:%M:%SZ"), a.targets, a.kind) for a in alerts]


def test_negative_leads_are_written_as_the_time_after_the_due() -> None:
    assert Lead.after_due(1800).iso == "-PT30M"
    assert Lead.after_due(90 * MIN).iso == "-PT1H30M"
    assert Lead.after_due(2).iso == "-PT2S"
    assert Lead.after_due(86400).iso == "-PT24H"  # elapsed: a day after the due is 24 hours
    assert lead_from_iso("-PT1H30M") == Lead.after_due(5400)
    assert lead_from_iso("P1DT12H") == parse_lead("1d12h")


def test_repeats_come_every_repeat_until_repeat_for_inclusive() -> None:
    d = make()
    assert rows(after_due_alerts(d)) == [
        ("-PT30M", "21:30:00Z", ("ops",), "deadline.overdue"),
        ("-PT1H", "22:00:00Z", ("ops",), "deadline.overdue"),
        ("-PT1H30M", "22:30:00Z", ("ops",), "deadline.overdue"),
        ("-PT2H", "23:00:00Z", ("ops",), "deadline.overdue"),
    ]


def test_a_repeat_that_does_not_divide_repeat_for_stops_before_it() -> None:
    assert [a.lead.iso for a in after_due_alerts(make(repeat=45 * MIN))] == ["-PT45M", "-PT1H30M"]


def test_a_step_and_a_repeat_at_one_instant_give_each_channel_one_alert() -> None:
    d = make(channels=("ops", "desk"), steps=(Step(30 * MIN, ("duty", "ops")),), repeat_for=HOUR)
    assert rows(after_due_alerts(d)) == [
        ("-PT30M", "21:30:00Z", ("duty", "ops"), "deadline.escalation"),
        ("-PT30M", "21:30:00Z", ("desk",), "deadline.overdue"),
        ("-PT1H", "22:00:00Z", ("ops", "desk"), "deadline.overdue"),
    ]
    assert d.all_channels == ("ops", "desk", "duty")


def test_a_window_is_half_open() -> None:
    d = make()
    due = d.due
    got = after_due_alerts(d, start=due + timedelta(minutes=30), end=due + timedelta(minutes=90))
    assert [a.lead.iso for a in got] == ["-PT30M", "-PT1H"]


@pytest.mark.parametrize(("due", "zone", "walls"), [
    # Fall back in New York: 01:00-02:00 happens twice. Hourly repeats are hours on the stopwatch:
    # one in each 01:30, none twice in one, four in four hours.
    pytest.param("2021-11-07T00:30", "America/New_York", ["01:30 EDT", "01:30 EST", "02:30 EST", "03:30 EST"],
                 id="fall-back-fold"),
    # Spring forward: 02:00-03:00 does not exist. No repeat is skipped: still one every 3600 s.
    pytest.param("2021-03-14T00:30", "America/New_York", ["01:30 EST", "03:30 EDT", "04:30 EDT", "05:30 EDT"],
                 id="spring-forward-gap"),
    pytest.param("2021-10-31T01:30", "Europe/London", ["01:30 GMT", "02:30 GMT", "03:30 GMT", "04:30 GMT"],
                 id="london-due-in-the-fold"),
])
def test_repeats_are_elapsed_time_across_dst(due: str, zone: str, walls: list[str]) -> None:
    d = make(due, zone, repeat=HOUR, repeat_for=4 * HOUR)
    alerts = after_due_alerts(d)
    instants = [a.fire_at for a in alerts]
    assert [b - a for a, b in zip([d.due, *instants], instants, strict=False)] == [timedelta(hours=1)] * 4
    assert [a.fire_at.astimezone(get_zone(zone)).strftime("%H:%M %Z") for a in alerts] == walls


def test_only_the_latest_passed_repeat_and_every_passed_step_are_candidates() -> None:
    d = make(steps=(Step(15 * MIN, ("duty",)), Step(3 * HOUR, ("boss",))))
    got = passed_after_due(d, d.due + timedelta(minutes=75))
    assert [(a.lead.iso, a.kind) for a in got] == [("-PT15M", "deadline.escalation"), ("-PT1H", "deadline.overdue")]
    assert passed_after_due(d, d.due) == []
    late = passed_after_due(d, d.due + timedelta(days=3))
    assert [a.lead.iso for a in late] == ["-PT15M", "-PT3H", "-PT2H"]  # the last repeat, bounded by repeat_for


def test_the_next_instant_after_the_due() -> None:
    d = make(steps=(Step(45 * MIN, ("duty",)),))
    due = d.due
    assert next_after_due(d, due - timedelta(hours=5)) == due + timedelta(minutes=30)
    assert next_after_due(d, due + timedelta(minutes=30)) == due + timedelta(minutes=45)
    assert next_after_due(d, due + timedelta(minutes=45)) == due + timedelta(minutes=60)
    assert next_after_due(d, due + timedelta(hours=2)) is None


def test_a_recorded_delivery_is_found_again_in_the_config_or_not() -> None:
    d = make(steps=(Step(30 * MIN, ("duty",)),), channels=("ops",))
    step = after_due_alert(d, Lead.after_due(30 * MIN), "duty")
    assert step is not None and step.step == 1
    repeat = after_due_alert(d, Lead.after_due(60 * MIN), "ops")
    assert repeat is not None and repeat.kind == "deadline.overdue"
    assert after_due_alert(d, Lead.after_due(20 * MIN), "ops") is None  # not a repeat instant
    assert after_due_alert(d, Lead.after_due(5 * HOUR), "ops") is None  # past repeat_for
    assert after_due_alert(d, Lead.after_due(60 * MIN), "duty") is None  # duty gets no repeats


def test_plan_lists_repeats_and_steps_and_nothing_for_done_or_cancelled() -> None:
    d = make(steps=(Step(15 * MIN, ("duty",)),), repeat_for=HOUR)
    got = plan([d, make(status="done"), make(status="cancelled")], start=d.due - timedelta(hours=2))
    assert [(a.lead.iso, a.targets) for a in got] == [
        ("PT1H", ("ops",)), ("PT0S", ("ops",)), ("-PT15M", ("duty",)), ("-PT30M", ("ops",)), ("-PT1H", ("ops",))]


def _act(act: Act, at: datetime, until: datetime | None = None) -> Action:
    return Action("d", datetime(2021, 5, 21, 21, tzinfo=UTC), act, "alice", at, until=until)


def test_the_next_alert_and_wake_up_follow_the_state() -> None:
    d = make(steps=(Step(15 * MIN, ("duty",)),))
    due = d.due
    before = due - timedelta(minutes=30)
    acked = DeadlineState(acked=_act(Act.ACK, before))
    assert next_alert(d, now=before, state=acked).lead.is_zero  # an ack before the due keeps the due alert
    assert next_alert(d, now=due + timedelta(seconds=1), state=acked) is None
    assert next_alert(d, now=due + timedelta(seconds=1)).lead.iso == "-PT15M"
    assert next_wake(d, now=due, state=acked) is None
    assert next_wake(d, now=due, state=None) == due + timedelta(minutes=15)
    snoozed = DeadlineState(snoozed=_act(Act.SNOOZE, before, until=due + timedelta(minutes=40)))
    assert next_wake(d, now=before, state=snoozed) == due + timedelta(minutes=40)
    assert next_alert(d, now=before, state=snoozed).fire_at == due + timedelta(minutes=60)
    done = DeadlineState(done=_act(Act.DONE, before))
    assert next_wake(d, now=before, state=done) is None
    assert next_alert(d, now=before, state=done) is None


def test_a_window_can_take_only_the_first_repeats() -> None:
    """A repeat every 2 s for 30 days is 1,296,000 alerts: status asks for the first few only."""
    d = make(repeat=2, repeat_for=30 * 86400)
    got = after_due_alerts(d, start=d.due + timedelta(hours=1), limit=3)
    assert [a.lead.iso for a in got] == ["-PT1H", "-PT1H2S", "-PT1H4S"]
    assert [a.lead.iso for a in plan([d], start=d.due, repeats=2)] == ["PT0S", "-PT2S", "-PT4S"]
