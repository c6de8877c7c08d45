"""What people did about a due: each action changes the state once, and the state says what is held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alertd.core.leads import Lead, parse_lead
from alertd.core.model import AfterDue, Deadline, PlannedAlert
from alertd.core.state import Act, Action, Condition, DeadlineState, Hold, condition, held_by
from alertd.core.timerules import parse_due

DUE = datetime(2021, 5, 21, 21, tzinfo=UTC)
T = DUE - timedelta(hours=2)


def act(kind: Act, *, by: str = "alice", until: datetime | None = None, at: datetime = T) -> Action:
    return Action("d", DUE, kind, by, at, until=until)


ACK, DONE = act(Act.ACK), act(Act.DONE)
SNOOZE = act(Act.SNOOZE, until=DUE)
EMPTY = DeadlineState()


@pytest.mark.parametrize(("before", "action", "after"), [
    pytest.param(EMPTY, ACK, DeadlineState(acked=ACK), id="ack"),
    pytest.param(DeadlineState(acked=ACK), act(Act.ACK, by="bob"), None, id="second-ack-changes-nothing"),
    pytest.param(DeadlineState(done=DONE), ACK, None, id="ack-when-done-changes-nothing"),
    pytest.param(EMPTY, SNOOZE, DeadlineState(snoozed=SNOOZE), id="snooze"),
    pytest.param(DeadlineState(snoozed=SNOOZE), act(Act.SNOOZE, by="bob", until=DUE), None,
                 id="same-snooze-changes-nothing"),
    pytest.param(DeadlineState(snoozed=SNOOZE), act(Act.SNOOZE, until=DUE + timedelta(hours=1)),
                 DeadlineState(snoozed=act(Act.SNOOZE, until=DUE + timedelta(hours=1))), id="snooze-longer"),
    pytest.param(DeadlineState(acked=ACK), SNOOZE, DeadlineState(acked=ACK, snoozed=SNOOZE),
                 id="snooze-keeps-the-ack"),
    pytest.param(DeadlineState(done=DONE), SNOOZE, None, id="snooze-when-done-changes-nothing"),
    pytest.param(DeadlineState(acked=ACK), DONE, DeadlineState(acked=ACK, done=DONE), id="done"),
    pytest.param(DeadlineState(done=DONE), act(Act.DONE, by="bob"), None, id="second-done-changes-nothing"),
    pytest.param(DeadlineState(acked=ACK, snoozed=SNOOZE, done=DONE), act(Act.REOPEN), EMPTY, id="reopen-undoes-all"),
    pytest.param(EMPTY, act(Act.REOPEN), None, id="reopen-when-open-changes-nothing"),
])
def test_an_action_changes_the_state_once(before: DeadlineState, action: Action, after: DeadlineState | None) -> None:
    assert before.apply(action) == after


def deadline(status: str = "open") -> Deadline:
    return Deadline(id="d", title="D", timezone="UTC", written=parse_due("2021-05-21T21:00:00Z"), due=DUE,
                    leads=(parse_lead("1h"), Lead()), channels=("ops",), status=status,
                    after=AfterDue(1800, 7200))


REMINDER = PlannedAlert(deadline(), parse_lead("1h"), DUE - timedelta(hours=1))
REPEAT = PlannedAlert(deadline(), Lead.after_due(1800), DUE + timedelta(minutes=30))


@pytest.mark.parametrize(("status", "state", "now", "expected"), [
    pytest.param("open", None, T, (None, None, Condition.OPEN), id="open"),
    pytest.param("open", None, DUE, (None, None, Condition.OVERDUE), id="overdue"),
    pytest.param("cancelled", None, T, (Hold.CANCELLED, Hold.CANCELLED, Condition.CANCELLED), id="cancelled"),
    pytest.param("done", None, T, (Hold.DONE, Hold.DONE, Condition.DONE), id="done-in-config"),
    pytest.param("open", DeadlineState(done=DONE), T, (Hold.DONE, Hold.DONE, Condition.DONE), id="done"),
    pytest.param("open", DeadlineState(acked=ACK), DUE, (None, Hold.ACKNOWLEDGED, Condition.ACKNOWLEDGED),
                 id="ack-holds-only-what-comes-after-the-due"),
    pytest.param("open", DeadlineState(snoozed=SNOOZE), T, (Hold.SNOOZED, Hold.SNOOZED, Condition.SNOOZED),
                 id="snoozed"),
    pytest.param("open", DeadlineState(snoozed=SNOOZE), DUE, (None, None, Condition.OVERDUE),
                 id="a-snooze-ends-at-its-instant"),
    pytest.param("open", DeadlineState(acked=ACK, snoozed=SNOOZE), T, (Hold.SNOOZED, Hold.SNOOZED, Condition.SNOOZED),
                 id="snoozed-after-ack"),
])
def test_what_the_state_holds(status, state, now, expected) -> None:
    """(what holds a reminder, what holds a repeat, the word status shows)"""
    d = deadline(status)
    assert (held_by(d, state, REMINDER, now), held_by(d, state, REPEAT, now), condition(d, state, now)) == expected
