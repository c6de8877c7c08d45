"""The start line's fields and sentence: what was loaded, what comes next, and plainly when nothing does."""

from __future__ import annotations

from pathlib import Path

from alertd.config import load_config
from alertd.core.planner import next_alert
from alertd.daemon.outlook import outlook
from tests.seed import SEED_CONFIG, utc


def _next(config, now):
    """What the timetable would hold first: the earliest next alert (instant, deadline id)."""
    found = [a for a in (next_alert(d, now=now) for d in config.deadlines) if a is not None]
    return min(((a.fire_at, a.deadline.id) for a in found), default=None)


def test_the_shipped_config_today_says_plainly_that_nothing_is_ahead() -> None:
    config = load_config(SEED_CONFIG, env={})
    now = utc(2026, 12, 2, 2, 30)
    fields = outlook(config, {d.id: d for d in config.deadlines}, _next(config, now), now=now)
    assert fields == {
        "summary": f"1 deadline and 1 channel from {SEED_CONFIG} (1 file); nothing ahead: the deadline's alerts "
                   "have all passed",
        "config": str(SEED_CONFIG), "files": 1, "deadlines": 1, "channels": 1,
        "next": None, "next_deadline": None, "next_lead": None, "next_at": None,
    }
    assert next(iter(fields)) == "summary"  # the console line shows it first


def test_the_shipped_config_in_may_2021_names_the_next_alert() -> None:
    config = load_config(SEED_CONFIG, env={})
    now = utc(2021, 5, 20, 9, 0)
    fields = outlook(config, {d.id: d for d in config.deadlines}, _next(config, now), now=now)
    assert fields["summary"] == (f"1 deadline and 1 channel from {SEED_CONFIG} (1 file); next: us-diplomats-leave-"
                                 "russia, 1 day before its due, at 2021-05-20T21:00:00Z (in 12 h)")
    assert (fields["next_deadline"], fields["next_lead"], fields["next_at"]) == (
        "us-diplomats-leave-russia", "P1D", "2021-05-20T21:00:00Z")
    assert fields["next"] == "us-diplomats-leave-russia at 2021-05-20T21:00:00Z"


def test_a_config_without_deadlines_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("channels: {c: {type: console}, d: {type: console}}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("defaults: {timezone: UTC}\n", encoding="utf-8")
    config = load_config(tmp_path, env={})
    fields = outlook(config, {}, None, now=utc(2026, 1, 1))
    assert fields["summary"] == (f"0 deadlines and 2 channels from {tmp_path} (2 files); "
                                 "nothing ahead: there are no deadlines")
