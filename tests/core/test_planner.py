"""The planner is a pure function of deadlines and a window: no clock, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.planner import alerts_for, next_alert, plan, reach
from alertd.core.timerules import due_instant, parse_due
from alertd.core.zones import get_zone


def make(id_: str, due: str, zone: str, leads: list[str]) -> Deadline:
    written = parse_due(due)
    instant, how = due_instant(written, get_zone(zone))
    return Deadline(id=id_, title=id_, timezone=zone, written=written, due=instant,
                    leads=tuple(sorted((parse_lead(x) for x in leads), key=lambda d: -d.nominal_seconds)),
                    channels=("c",), resolution=how)


def test_plan_sorts_by_instant_then_deadline_then_lead() -> None:
    a = make("b-desk", "2021-05-21T12:00:00Z", "UTC", ["1d", "24h", "0"])
    b = make("a-desk", "2021-05-21T12:00:00Z", "UTC", ["1d", "0"])
    got = [(x.deadline.id, x.lead.iso) for x in plan([a, b], start=datetime(2021, 5, 1, tzinfo=UTC))]
    assert got == [("a-desk", "P1D"), ("b-desk", "P1D"), ("b-desk", "PT24H"), ("a-desk", "PT0S"), ("b-desk", "PT0S")]


def test_plan_is_the_same_whatever_the_order_of_the_deadlines() -> None:
    ds = [make(f"d{i}", f"2021-0{1 + i % 9}-1{i % 10}T0{i % 10}:00", z, ["7d", "1d", "6h", "1h", "0"])
          for i, z in enumerate(["Europe/Moscow", "America/New_York", "Asia/Kolkata", "Pacific/Apia"] * 5)]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    assert plan(ds, start=start) == plan(list(reversed(ds)), start=start)
    assert len(plan(ds, start=start)) == 100


def test_next_alert_is_the_first_at_or_after_now() -> None:
    d = make("x", "2021-05-21", "Europe/Moscow", ["7d", "1d", "0"])
    assert next_alert(d, now=datetime(2021, 5, 20, 21, tzinfo=UTC)).lead.iso == "P1D"
    assert next_alert(d, now=datetime(2021, 5, 20, 21, 0, 1, tzinfo=UTC)).lead.iso == "PT0S"
    assert next_alert(d, now=datetime(2021, 5, 21, 21, 0, 1, tzinfo=UTC)) is None
    assert [a.lead.iso for a in alerts_for(d)] == ["P7D", "P1D", "PT0S"]


def test_no_alert_fires_before_the_engines_start_up_bound():
    """The engine skips computing alerts whose deadline is further away than `reach`."""
    import random  # noqa: PLC0415

    rng = random.Random(6)
    zones = ["Pacific/Apia", "Pacific/Kiritimati", "Australia/Lord_Howe", "Europe/Moscow", "America/St_Johns",
             "Asia/Kathmandu", "Antarctica/Troll", "America/Sao_Paulo", "Europe/London", "Pacific/Kwajalein"]
    lead_lists = [("1d", "23h59m", "0"), ("7d",), ("2d", "47h"), ("1w", "1d", "6h", "1h", "0"), ("30d", "720h")]
    for _ in range(3000):
        zone = rng.choice(zones)
        year = rng.choice((1911, 1942, 1993, 2011, 2021, 2030))
        day = date(year, 1, 1) + timedelta(days=rng.randrange(366))
        text = rng.choice((day.isoformat(), f"{day}T{rng.randrange(24):02d}:{rng.choice((0, 30)):02d}",
                           f"{day}T{rng.randrange(24):02d}:00:00Z"))
        written = parse_due(text)
        due, resolution = due_instant(written, get_zone(zone))
        leads = tuple(parse_lead(x) for x in rng.choice(lead_lists))
        d = Deadline(id="x", title="t", timezone=zone, written=written, due=due, leads=leads, channels=("c",),
                     resolution=resolution)
        assert min(d.fire_at(lead) for lead in leads) >= due - reach(leads), (zone, text, leads)


def test_next_alert_agrees_with_trying_every_lead():
    """next_alert skips leads that cannot come first; the answer must be the brute-force one."""
    import random  # noqa: PLC0415

    rng = random.Random(11)
    zones = ["Pacific/Apia", "Australia/Lord_Howe", "Europe/Moscow", "America/St_Johns", "Europe/Berlin", "UTC"]
    lead_lists = [("7d", "1d", "6h", "1h", "0"), ("4d", "1d", "0"), ("5d", "4d1h", "3d23h"), ("1d", "24h"),
                  ("10d", "6d", "6d1s"), ("2d", "1d1h")]
    for i in range(3000):
        zone = rng.choice(zones)
        day = date(rng.choice((2011, 2021, 2030)), 1, 1) + timedelta(days=rng.randrange(366))
        if i % 10 == 0:  # Samoa skipped 30 December 2011: a 2-day lead can fire after a 1d1h one
            zone, day = "Pacific/Apia", date(2011, 12, 29) + timedelta(days=rng.randrange(5))
        written = parse_due(rng.choice((day.isoformat(), f"{day}T02:30", f"{day}T{rng.randrange(24):02d}:00:00Z")))
        due, resolution = due_instant(written, get_zone(zone))
        leads = tuple(sorted((parse_lead(x) for x in rng.choice(lead_lists)), key=lambda x: -x.nominal_seconds))
        d = Deadline(id="x", title="t", timezone=zone, written=written, due=due, leads=leads, channels=("c",),
                     resolution=resolution)
        now = due - timedelta(seconds=rng.randrange(-86400, 12 * 86400))
        ahead = [a for a in alerts_for(d) if a.fire_at >= now]
        expected = min(ahead, key=lambda a: (a.fire_at, -a.lead.nominal_seconds, -a.lead.days)) if ahead else None
        assert next_alert(d, now=now) == expected, (zone, d.written, leads, now)
