"""The time rules as pure functions: tables of gaps, folds, midnights and historic offsets."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from alertd.core.display import due_local, due_text, rfc3339
from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.timerules import DueError, Resolution, due_instant, parse_due, resolve
from alertd.core.zones import UnknownZoneError, get_zone


def deadline(due: str, zone: str, leads: tuple[str, ...] = ("0",)) -> Deadline:
    written = parse_due(due)
    instant, resolution = due_instant(written, get_zone(zone))
    return Deadline(id="d", title="t", timezone=zone, written=written, due=instant,
                    leads=tuple(parse_lead(x) for x in leads), channels=("c",), resolution=resolution)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# (zone, due as written, expected due instant, how it resolved)
DUES = [
    # the seed: the end of Friday 21 May 2021, Moscow time
    ("Europe/Moscow", "2021-05-21", "2021-05-21T21:00:00Z", Resolution.EXACT),
    ("Europe/Moscow", "2021-05-21T24:00", "2021-05-21T21:00:00Z", Resolution.EXACT),
    ("Europe/Moscow", "2021-05-21 24:00:00", "2021-05-21T21:00:00Z", Resolution.EXACT),
    ("Europe/Moscow", "2021-05-22T00:00", "2021-05-21T21:00:00Z", Resolution.EXACT),
    ("Europe/Moscow", "2021-05-21T00:00", "2021-05-20T21:00:00Z", Resolution.EXACT),  # START of the day
    ("Europe/Moscow", "2021-05-21T21:00:00Z", "2021-05-21T21:00:00Z", Resolution.EXACT),  # exact instant
    ("Europe/Moscow", "2021-05-22T00:00:00+03:00", "2021-05-21T21:00:00Z", Resolution.EXACT),
    # historic offset: Moscow kept UTC+4 from 2011 to 2014
    ("Europe/Moscow", "2012-06-01T12:00", "2012-06-01T08:00:00Z", Resolution.EXACT),
    ("Europe/Moscow", "2012-06-01", "2012-06-01T20:00:00Z", Resolution.EXACT),
    # New York spring gap: 02:30 does not exist, shifted forward by the hour
    ("America/New_York", "2021-03-14T02:30", "2021-03-14T07:30:00Z", Resolution.GAP),
    ("America/New_York", "2021-03-14T01:59:59", "2021-03-14T06:59:59Z", Resolution.EXACT),
    ("America/New_York", "2021-03-14T03:00", "2021-03-14T07:00:00Z", Resolution.EXACT),
    # New York autumn fold: 01:30 occurs twice, the earlier (EDT) is taken
    ("America/New_York", "2021-11-07T01:30", "2021-11-07T05:30:00Z", Resolution.FOLD),
    ("America/New_York", "2021-11-07T02:00", "2021-11-07T07:00:00Z", Resolution.EXACT),
    # Havana: DST starts AT midnight, so the end of 13 March 2021 (= 14 March 00:00) does not exist;
    # it is the first instant that exists on the 14th, 01:00 CDT
    ("America/Havana", "2021-03-13", "2021-03-14T05:00:00Z", Resolution.GAP),
    ("America/Havana", "2021-03-14T00:00", "2021-03-14T05:00:00Z", Resolution.GAP),
    ("America/Havana", "2021-03-14T00:30", "2021-03-14T05:30:00Z", Resolution.GAP),
    # Toronto, 30 March 1919: the clocks went from 23:30 EST to 00:30 EDT, a gap that straddles
    # midnight. The 31st (and so the end of the 30th) starts at the first instant that exists on
    # it, 00:30 EDT = 04:30Z, not midnight shifted by the gap (01:00 EDT = 05:00Z).
    ("America/Toronto", "1919-03-30", "1919-03-31T04:30:00Z", Resolution.GAP),
    ("America/Toronto", "1919-03-30T24:00", "1919-03-31T04:30:00Z", Resolution.GAP),
    ("America/Toronto", "1919-03-31T00:00", "1919-03-31T04:30:00Z", Resolution.GAP),
    ("America/Toronto", "1919-03-30T23:29:59", "1919-03-31T04:29:59Z", Resolution.EXACT),
    ("America/Toronto", "1919-03-30T23:45", "1919-03-31T04:45:00Z", Resolution.GAP),  # not a midnight: shifted
    ("America/Toronto", "1919-03-31T00:15", "1919-03-31T05:15:00Z", Resolution.GAP),
    ("America/Toronto", "1919-03-31T00:30", "1919-03-31T04:30:00Z", Resolution.EXACT),
    # Santiago: DST starts at 24:00 on Saturday 4 September 2021
    ("America/Santiago", "2021-09-04", "2021-09-05T04:00:00Z", Resolution.GAP),
    # Apia skipped Friday 30 December 2011 entirely (UTC-10 to UTC+14)
    ("Pacific/Apia", "2011-12-29", "2011-12-30T10:00:00Z", Resolution.GAP),
    ("Pacific/Apia", "2011-12-30T12:00", "2011-12-30T22:00:00Z", Resolution.GAP),
    ("Pacific/Apia", "2011-12-30", "2011-12-30T10:00:00Z", Resolution.SKIPPED_DAY),  # a day that never was
    ("Pacific/Apia", "2011-12-30T24:00", "2011-12-30T10:00:00Z", Resolution.SKIPPED_DAY),
    ("Pacific/Apia", "2011-12-30T00:00", "2011-12-30T10:00:00Z", Resolution.GAP),
    ("Pacific/Apia", "2011-12-31T00:00", "2011-12-30T10:00:00Z", Resolution.EXACT),
    ("Pacific/Apia", "2011-12-31T12:00", "2011-12-30T22:00:00Z", Resolution.EXACT),
    # Lord Howe: a 30-minute DST shift (+10:30 to +11 at 02:00, back at 02:00 to 01:30)
    ("Australia/Lord_Howe", "2021-10-03T02:15", "2021-10-02T15:45:00Z", Resolution.GAP),
    ("Australia/Lord_Howe", "2021-04-04T01:45", "2021-04-03T14:45:00Z", Resolution.FOLD),
    ("UTC", "2021-05-21T18:00", "2021-05-21T18:00:00Z", Resolution.EXACT),
    ("UTC", "2021-05-21T18:00:00.250", "2021-05-21T18:00:00.250000Z", Resolution.EXACT),
]


@pytest.mark.parametrize(("zone", "written", "expected", "how"), DUES)
def test_due_resolves_to_the_contract_instant(zone: str, written: str, expected: str, how: Resolution) -> None:
    instant, resolution = due_instant(parse_due(written), get_zone(zone))
    assert instant == z(expected)
    assert instant.tzinfo is UTC
    assert resolution is how


# (zone, due, lead, expected fire instant)
LEADS = [
    # the contract's seed example
    ("Europe/Moscow", "2021-05-21", "7d", "2021-05-14T21:00:00Z"),
    ("Europe/Moscow", "2021-05-21", "1d", "2021-05-20T21:00:00Z"),
    ("Europe/Moscow", "2021-05-21", "6h", "2021-05-21T15:00:00Z"),
    ("Europe/Moscow", "2021-05-21", "1h", "2021-05-21T20:00:00Z"),
    ("Europe/Moscow", "2021-05-21", "0", "2021-05-21T21:00:00Z"),
    ("Europe/Moscow", "2021-05-21", "1d12h", "2021-05-20T09:00:00Z"),
    ("Europe/Moscow", "2021-05-21", "P1DT12H", "2021-05-20T09:00:00Z"),
    ("Europe/Moscow", "2021-05-21", "1w", "2021-05-14T21:00:00Z"),
    # 24h is elapsed time, 1d is the wall clock: they differ across a DST change
    ("America/New_York", "2021-11-07T12:00", "1d", "2021-11-06T16:00:00Z"),
    ("America/New_York", "2021-11-07T12:00", "24h", "2021-11-06T17:00:00Z"),
    ("America/New_York", "2021-03-14T12:00", "1d", "2021-03-13T17:00:00Z"),
    ("America/New_York", "2021-03-14T12:00", "24h", "2021-03-13T16:00:00Z"),
    # 7d before the end of 20 March is local midnight seven days earlier, whatever DST did between
    ("America/New_York", "2021-03-20", "7d", "2021-03-14T05:00:00Z"),
    # days from the due AS WRITTEN land in a gap / a fold and are resolved there
    ("America/New_York", "2021-03-15T02:30", "1d", "2021-03-14T07:30:00Z"),
    ("America/New_York", "2021-11-08T01:30", "1d", "2021-11-07T05:30:00Z"),
    # the calendar part is taken from the due as written, not from the shifted instant
    ("America/New_York", "2021-03-14T02:30", "1d", "2021-03-13T07:30:00Z"),
    # hours across a gap are exact elapsed time
    ("America/New_York", "2021-03-14T04:00", "3h", "2021-03-14T05:00:00Z"),
    # Havana's missing midnight: reminders from the end of 13 March
    ("America/Havana", "2021-03-13", "1h", "2021-03-14T04:00:00Z"),
    ("America/Havana", "2021-03-13", "1d", "2021-03-13T05:00:00Z"),
    ("America/Havana", "2021-03-14", "1d", "2021-03-14T05:00:00Z"),  # 1d back lands in the gap
    # Apia: 1d before the end of 31 December 2011 is the end of the 30th, which exists
    ("Pacific/Apia", "2011-12-31", "1d", "2011-12-30T10:00:00Z"),
    ("Pacific/Apia", "2011-12-31", "2d", "2011-12-30T10:00:00Z"),  # end of the 29th = same instant
    # Toronto 1919: day leads that land on the midnight skipped by the 23:30 -> 00:30 gap
    ("America/Toronto", "1919-04-06", "7d", "1919-03-31T04:30:00Z"),
    ("America/Toronto", "1919-03-31", "1d", "1919-03-31T04:30:00Z"),
    ("America/Toronto", "1919-03-31", "1d1h", "1919-03-31T03:30:00Z"),
    ("America/Toronto", "1919-04-01T00:00", "1d", "1919-03-31T04:30:00Z"),
    ("America/Toronto", "1919-04-01T00:15", "1d", "1919-03-31T05:15:00Z"),  # not a midnight: shifted
    # an exact-instant due: days count on its written offset, where a day is 24 hours, not on the
    # zone's wall clock (New York went to EDT on 14 March 2021, between these instants)
    ("Europe/Moscow", "2021-05-21T21:00:00Z", "1d", "2021-05-20T21:00:00Z"),
    ("America/New_York", "2021-03-15T12:00:00Z", "7d", "2021-03-08T12:00:00Z"),
    ("America/New_York", "2021-03-15T08:00:00-04:00", "7d", "2021-03-08T12:00:00Z"),
    ("America/New_York", "2021-03-15T08:00:00-04:00", "1d12h", "2021-03-14T00:00:00Z"),
    ("America/New_York", "2021-03-15-04:00", "7d", "2021-03-09T04:00:00Z"),  # end of day at -04:00
    ("Europe/London", "2021-11-01T12:00:00+01:00", "2w", "2021-10-18T11:00:00Z"),
    ("Australia/Lord_Howe", "2021-10-04T02:15", "1d", "2021-10-02T15:45:00Z"),
    ("Europe/Moscow", "2012-06-01", "90m", "2012-06-01T18:30:00Z"),
]


@pytest.mark.parametrize(("zone", "written", "lead", "expected"), LEADS)
def test_lead_fires_at_the_contract_instant(zone: str, written: str, lead: str, expected: str) -> None:
    d = deadline(written, zone)
    assert d.fire_at(parse_lead(lead)) == z(expected)


@pytest.mark.parametrize(
    ("zone", "written", "shown", "local"),
    [
        ("Europe/Moscow", "2021-05-21", "Fri 21 May 2021, 24:00 MSK", "2021-05-21T24:00"),
        ("Europe/Moscow", "2021-05-21T18:00", "Fri 21 May 2021, 18:00 MSK", "2021-05-21T18:00"),
        ("Europe/Moscow", "2021-05-21T21:00:00Z", "Sat 22 May 2021, 00:00 MSK", "2021-05-22T00:00"),
        ("America/Havana", "2021-03-13", "Sat 13 Mar 2021, 24:00 CST", "2021-03-13T24:00"),
        # the date never happened in Apia: 24:00 with the offset in force at the instant (+14), which
        # names 2011-12-30T10:00Z; "-10" would name an instant a day later
        ("Pacific/Apia", "2011-12-30", "Fri 30 Dec 2011, 24:00 +14", "2011-12-30T24:00"),
        ("Pacific/Apia", "2011-12-29", "Thu 29 Dec 2011, 24:00 -10", "2011-12-29T24:00"),
        # no clock in Toronto read 24:00 on 30 March 1919 at the end of that day: its own clock then
        ("America/Toronto", "1919-03-30", "Mon 31 Mar 1919, 00:30 EDT", "1919-03-30T24:00"),
        ("UTC", "0001-01-07", "Sun 7 Jan 0001, 24:00 UTC", "0001-01-07T24:00"),
        # the end of a day at a written offset, shown in a zone at another offset: its clock there
        ("UTC", "2021-05-21+03:00", "Fri 21 May 2021, 21:00 UTC", "2021-05-21T21:00"),
        ("Europe/Moscow", "2021-05-21+03:00", "Fri 21 May 2021, 24:00 MSK", "2021-05-21T24:00"),
        ("UTC", "0001-01-07T06:05", "Sun 7 Jan 0001, 06:05 UTC", "0001-01-07T06:05"),
        ("America/New_York", "2021-03-14T02:30", "Sun 14 Mar 2021, 03:30 EDT", "2021-03-14T03:30"),
        ("UTC", "2021-05-21T18:00:30", "Fri 21 May 2021, 18:00:30 UTC", "2021-05-21T18:00:30"),
    ],
)
def test_due_is_shown_in_its_zone_with_end_of_day_as_24_00(zone: str, written: str, shown: str, local: str) -> None:
    d = deadline(written, zone)
    assert due_text(d) == shown
    assert due_local(d) == local


def test_due_in_another_zone_is_shown_with_that_zones_clock() -> None:
    d = deadline("2021-05-21", "Europe/Moscow")
    assert due_text(d, get_zone("America/New_York")) == "Fri 21 May 2021, 17:00 EDT"
    assert due_text(d, UTC) == "Fri 21 May 2021, 21:00 UTC"


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2021, 5, 20, 21, tzinfo=UTC), "2021-05-20T21:00:00Z"),
        (datetime(2021, 5, 20, 21, 0, 0, 12000, tzinfo=UTC), "2021-05-20T21:00:00.012Z"),
        (datetime(2021, 5, 20, 21, 0, 0, 12345, tzinfo=UTC), "2021-05-20T21:00:00.012345Z"),
    ],
)
def test_instants_in_json_are_utc_with_z_and_whole_seconds_unless_fractional(instant: datetime, text: str) -> None:
    assert rfc3339(instant) == text


@pytest.mark.parametrize(
    "bad",
    ["2021-02-30", "2021-13-01", "2021-05-21T25:00", "2021-05-21T24:30", "21 May 2021", "2021-05-21T18",
     "", "2021-05-21T18:00+25:00", "tomorrow"],
)
def test_impossible_or_malformed_dues_are_refused(bad: str) -> None:
    with pytest.raises(DueError):
        parse_due(bad)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "../etc/passwd", "", "Europe/", "europe/moscow"])
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(UnknownZoneError):
        get_zone(name)


def test_zones_come_from_the_tzdata_package_not_the_host() -> None:
    import tzdata  # noqa: PLC0415

    zone = get_zone("Europe/Moscow")
    assert zone.key == "Europe/Moscow"
    assert tzdata.IANA_VERSION  # the packaged database is importable and versioned


def _resolve_by_conversion(wall: datetime, zone) -> tuple[datetime, Resolution]:
    """The definition `resolve` must equal: convert with fold=0, look back, compare folds; a
    midnight that does not exist is the first instant, minute by minute, whose local time is not
    before it (tzdata's transitions in these zones fall on whole minutes)."""
    from datetime import timedelta  # noqa: PLC0415

    local = wall.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        if wall.time() == datetime.min.time():
            instant = (wall - timedelta(days=2)).replace(tzinfo=UTC)
            while instant.astimezone(zone).replace(tzinfo=None) < wall:
                instant += timedelta(minutes=1)
        return instant, Resolution.GAP
    if local.replace(fold=1).utcoffset() != local.utcoffset():
        return instant, Resolution.FOLD
    return instant, Resolution.EXACT


@pytest.mark.parametrize("zone", ["America/New_York", "America/Havana", "Pacific/Apia", "Australia/Lord_Howe",
                                  "Europe/Dublin", "Antarctica/Troll", "Africa/Casablanca", "America/Toronto"])
def test_resolve_equals_its_definition_at_every_quarter_hour(zone: str) -> None:
    """Dublin's negative DST, Troll's two-hour shift, Casablanca's Ramadan reversals, Toronto's gap
    across midnight in 1919 included."""
    from datetime import timedelta  # noqa: PLC0415

    tz = get_zone(zone)
    year = {"Pacific/Apia": 2011, "Africa/Casablanca": 2019, "America/Toronto": 1919}.get(zone, 2021)
    wall, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    while wall < end:
        assert resolve(wall, tz) == _resolve_by_conversion(wall, tz), wall
        wall += timedelta(minutes=15)


def test_the_fast_due_reader_agrees_with_the_careful_one():
    """parse_due reads common shapes with datetime.fromisoformat; the result must be the long way's."""
    import random  # noqa: PLC0415

    from alertd.core.timerules import _DUE, _parse_due_slowly  # noqa: PLC0415

    def outcome(f, text):
        try:
            return f(text)
        except DueError as exc:
            return str(exc)

    rng = random.Random(5)
    parts = {
        "date": ["2021-05-21", "2021-02-29", "2024-02-29", "2021-13-01", "2021-00-10", "0001-01-01", "9999-12-31",
                 "2021-04-31", "1900-02-29"],
        "sep": ["T", " ", "t", ""],
        "time": ["", "00:00", "24:00", "24:00:00", "24:01", "23:59:59", "23:60", "25:00", "12:30:45.5",
                 "12:30:45.123456", "12:30:45.1234567", "07:05:09.000100", "12:30:60"],
        "off": ["", "Z", "z", "+03:00", "-00:00", "+23:59", "+24:00", "+05:60", "-12:30"],
        "pad": ["", " ", "\t"],
    }
    cases = 0
    for _ in range(4000):
        date_, sep, time_, off, pad = (rng.choice(parts[k]) for k in ("date", "sep", "time", "off", "pad"))
        text = pad + date_ + (sep + time_ if time_ else "") + off + pad
        m = _DUE.fullmatch(text.strip())
        if m is None:
            continue
        cases += 1
        assert outcome(parse_due, text) == outcome(lambda t, m=m: _parse_due_slowly(t, m), text), text
    assert cases > 1000


_LABEL = re.compile(r"\w{3} (\d{1,2}) (\w{3}) (\d{4}), (\d{2}):(\d{2})(?::(\d{2}))? (\S+)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@pytest.mark.parametrize(("zone", "year"), [
    ("Pacific/Apia", 2011), ("America/Havana", 2021), ("America/Santiago", 2021), ("America/Toronto", 1919),
    ("America/New_York", 2021), ("Australia/Lord_Howe", 2021), ("Africa/Casablanca", 2019),
    ("Europe/Dublin", 2021), ("Antarctica/Troll", 2021),
])
def test_every_end_of_day_label_names_the_instant_alertd_uses(zone: str, year: int) -> None:
    """`D, 24:00 ABBR` read back with ABBR's offset (any clock time: with the zone's offset then) is the due."""
    from datetime import timedelta  # noqa: PLC0415

    tz = get_zone(zone)
    day, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    while day < end:
        d = deadline(f"{day:%Y-%m-%d}", zone)
        m = _LABEL.fullmatch(due_text(d))
        assert m, due_text(d)
        date_, month, yyyy, hh, mm, ss, abbr = m.groups()
        wall = datetime(int(yyyy), _MONTHS.index(month) + 1, int(date_)) + timedelta(
            hours=int(hh), minutes=int(mm), seconds=int(ss or 0))
        # the offsets this abbreviation stood for around the due
        offsets = {(d.due + timedelta(hours=h)).astimezone(tz).utcoffset() for h in range(-48, 49)
                   if (d.due + timedelta(hours=h)).astimezone(tz).tzname() == abbr}
        assert len(offsets) == 1, (due_text(d), offsets)
        assert (wall - offsets.pop()).replace(tzinfo=UTC) == d.due, (day, due_text(d), rfc3339(d.due))
        day += timedelta(days=1)
