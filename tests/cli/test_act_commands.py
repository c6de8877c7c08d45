"""`alertd ack | snooze | done | reopen ID` with the daemon stopped, then `status` and `ics` reading what they wrote."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from alertd.cli import main
from alertd.core.display import rfc3339
from alertd.store.ledger import LEDGER_FILE, Ledger

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)
DUE = (NOW + timedelta(days=2)).replace(microsecond=0)
CONFIG = f"""
channels:
  ops: {{type: console}}
  duty: {{type: console}}
defaults: {{channels: [ops]}}
deadlines:
  - id: report-q3
    title: Q3 report
    due: "{rfc3339(DUE)}"
    repeat: 30m
    escalate: [{{after: 15m, channels: [duty]}}]
  - id: report-q4
    title: Q4 report
    due: "{rfc3339(DUE + timedelta(days=1))}"
  - id: dropped
    title: Dropped
    due: "{rfc3339(DUE)}"
    status: cancelled
  - id: filed
    title: Filed
    due: "{rfc3339(DUE)}"
    status: done
"""


@pytest.fixture
def run(write_config: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """`alertd ARGS -c CONFIG` in this process with ALERTD_STATE_DIR set: (exit code, stdout, stderr)."""
    config = write_config({"a.yaml": CONFIG})
    monkeypatch.setenv("ALERTD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SUDO_USER", raising=False)

    def call(*args: str) -> tuple[int, str, str]:
        code = main([*args, "-c", str(config)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    call.config = config  # type: ignore[attr-defined]
    return call


def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "state" / LEDGER_FILE)


def test_ack_records_who_when_and_the_note_for_the_current_due(run, tmp_path: Path) -> None:
    code, out, _ = run("ack", "report-q3", "--by", "alice", "--note", "on it")
    assert code == 0
    assert out.startswith("acknowledged report-q3 (due ") and "by alice at " in out
    with ledger(tmp_path) as led:
        [action] = led.actions_after(0)
        state = led.states()[("report-q3", DUE)]
    assert (action.by, action.note, action.due) == ("alice", "on it", DUE)
    assert state.acked == action and NOW <= action.at <= datetime.now(UTC)


def test_a_second_ack_records_nothing_and_is_no_error(run, tmp_path: Path) -> None:
    run("ack", "report-q3", "--by", "alice")
    code, out, _ = run("ack", "report-q3", "--by", "bob")
    assert code == 0 and "is already acknowledged (by alice at " in out and "nothing recorded" in out
    with ledger(tmp_path) as led:
        assert len(led.actions_after(0)) == 1


def test_by_defaults_to_the_invoking_user(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUDO_USER", "carol")  # under sudo, the user who ran sudo
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    run("done", "report-q3")
    with ledger(tmp_path) as led:
        assert led.actions_after(0)[0].by == "carol"


def test_an_unknown_id_exits_1_naming_it_and_the_nearest_ids(run, tmp_path: Path) -> None:
    code, out, err = run("ack", "report-q5")
    assert code == 1 and out == ""
    assert "no deadline 'report-q5'" in err and "did you mean report-q4, report-q3?" in err
    assert not (tmp_path / "state").exists()  # nothing written


@pytest.mark.parametrize(("args", "message"), [
    (["snooze", "report-q3", "--until", "2020-01-01"], "--until 2020-01-01 is in the past"),
    (["snooze", "report-q3", "5 minutes"], "snooze duration '5 minutes' is not a duration"),
    (["snooze", "report-q3", "-5m"], "snooze duration '-5m' is negative"),
    (["snooze", "report-q3", "0"], "a snooze must last longer than 0"),
    (["snooze", "report-q3"], "snooze takes a DURATION"),
    (["snooze", "report-q3", "1h", "--until", "2099-01-01"], "not both"),
    (["ack", "report-q3", "--by", " "], "--by is empty"),
])
def test_bad_arguments_exit_2_with_the_reason(run, tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2 and message in err
    assert not (tmp_path / "state").exists()


def test_snooze_for_a_duration_and_until_an_instant(run, tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)  # not the module's NOW: the suite may run long after import
    code, out, _ = run("snooze", "report-q3", "2h", "--note", "in a meeting")
    after = datetime.now(UTC)
    assert code == 0 and "snoozed report-q3" in out
    until = datetime(2099, 1, 1, tzinfo=UTC)
    assert run("snooze", "report-q4", "--until", "2099-01-01T00:00:00Z")[0] == 0
    with ledger(tmp_path) as led:
        states = led.states()
    first = states[("report-q3", DUE)].snoozed
    # whole seconds, rounded up: a snooze never ends early
    assert before + timedelta(hours=2) <= first.until <= after + timedelta(hours=2, seconds=1)
    assert first.until.microsecond == 0
    assert first.note == "in a meeting"
    assert states[("report-q4", DUE + timedelta(days=1))].snoozed.until == until


def test_done_then_reopen_undoes_it(run, tmp_path: Path) -> None:
    assert run("done", "report-q3")[0] == 0
    code, out, _ = run("ack", "report-q3")
    assert code == 0 and "is already done" in out
    code, out, _ = run("reopen", "report-q3")
    assert code == 0 and out.startswith("reopened report-q3")
    code, out, _ = run("reopen", "report-q3")
    assert code == 0 and "nothing to undo" in out
    with ledger(tmp_path) as led:
        assert led.states() == {} and [a.act.value for a in led.actions_after(0)] == ["done", "reopen"]


def test_a_deadline_done_or_cancelled_in_its_config_records_nothing(run, tmp_path: Path) -> None:
    code, out, _ = run("ack", "dropped")
    assert code == 0 and "dropped is cancelled in its config" in out
    code, _, err = run("reopen", "filed")
    assert code == 1 and "change `status` there to reopen it" in err
    assert not (tmp_path / "state").exists()


def test_an_unwritable_store_exits_1_with_its_path(run, tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state directory should be")
    code, _, err = run("ack", "report-q3")
    assert code == 1 and str(tmp_path / "state") in err and "nothing was recorded" in err


def test_an_invalid_config_exits_1(run) -> None:
    (run.config / "broken.yaml").write_text("deadlines: [\n")
    code, _, err = run("ack", "report-q3")
    assert code == 1 and "broken.yaml" in err


def test_status_shows_each_deadlines_state_and_what_comes_next(run) -> None:
    run("ack", "report-q3", "--by", "alice")
    run("snooze", "report-q4", "--until", rfc3339(DUE), "--by", "bob")
    code, out, _ = run("status", "--json")
    assert code == 0
    items = {i["id"]: i for i in json.loads(out)["deadlines"]}
    assert [i["id"] for i in json.loads(out)["deadlines"]] == ["report-q4", "report-q3", "filed", "dropped"]
    assert (items["report-q3"]["state"], items["report-q3"]["by"]) == ("acknowledged", "alice")
    assert items["report-q3"]["next_alert"]["lead"] == "P1D"  # an ack before the due keeps the reminders
    assert (items["report-q4"]["state"], items["report-q4"]["until"], items["report-q4"]["by"]) == (
        "snoozed", rfc3339(DUE), "bob")
    assert items["report-q4"]["next_alert"]["fire_at"] == rfc3339(DUE)  # its 1d reminder, as the snooze ends
    assert (items["filed"]["state"], items["filed"]["next_alert"]) == ("done", None)
    assert items["dropped"]["state"] == "cancelled"
    code, out, _ = run("status", "report-q3")
    assert "report-q3  acknowledged by alice at " in out and "next P1D at " in out and "report-q4" not in out
    code, _, err = run("status", "nope")
    assert code == 1 and "no deadline 'nope'" in err


def test_plan_lists_repeats_and_steps_but_nothing_of_a_done_deadline(run) -> None:
    code, out, _ = run("plan", "--json", "--from", rfc3339(DUE), "--until", rfc3339(DUE + timedelta(minutes=31)))
    assert code == 0
    assert [(a["deadline"], a["lead"], a["channels"], a.get("kind")) for a in json.loads(out)
            if a["deadline"] != "report-q4"] == [
        ("report-q3", "PT0S", ["ops"], None), ("report-q3", "-PT15M", ["duty"], "escalation"),
        ("report-q3", "-PT30M", ["ops"], "overdue")]


def test_the_calendar_feed_marks_done_and_cancelled_deadlines(run, tmp_path: Path) -> None:
    run("done", "report-q3", "--by", "alice")
    code, out, _ = run("ics")
    assert code == 0
    events = {str(e["UID"]).split("-2")[0]: e for e in icalendar.Calendar.from_ical(out.encode()).walk("VEVENT")}
    assert (str(events["dropped"]["STATUS"]), str(events["dropped"]["SUMMARY"])) == ("CANCELLED", "Cancelled: Dropped")
    assert (str(events["report-q3"]["STATUS"]), str(events["report-q3"]["SUMMARY"])) == ("CONFIRMED",
                                                                                         "Done: Q3 report")
    assert "Done (marked by alice at " in str(events["report-q3"]["DESCRIPTION"])
    assert str(events["filed"]["SUMMARY"]) == "Done: Filed"
    assert [str(e["UID"]).split("-2")[0] for e in events.values() if e.walk("VALARM")] == ["report-q4"]


def test_root_writes_as_the_owner_of_the_state_directory(write_config: Callable[..., Path], tmp_path: Path) -> None:
    """Under systemd the daemon runs as its own user; `sudo alertd ack` must not leave root's files behind."""
    if os.geteuid() != 0:
        pytest.skip("needs root to hand the state directory to another user")  # CI runs as root
    config = write_config({"a.yaml": CONFIG})
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 65534, 65534)  # a daemon's state directory, before its first start
    env = {**os.environ, "ALERTD_STATE_DIR": str(state), "PYTHONPATH": str(REPO)}
    for args in (["ack", "report-q3"], ["done", "report-q4"]):
        got = subprocess.run([sys.executable, "-m", "alertd.cli", *args, "-c", str(config)], env=env, check=False,
                             capture_output=True, text=True, timeout=60, cwd=REPO)
        assert got.returncode == 0, got.stderr
        assert {p.name: p.stat().st_uid for p in state.iterdir()} == {LEDGER_FILE: 65534}
    con = sqlite3.connect(state / LEDGER_FILE)
    assert con.execute("SELECT who, act FROM deadline_actions").fetchall() == [("root", "ack"), ("root", "done")]
    con.close()
