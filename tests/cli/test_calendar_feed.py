"""`alertd ics` / ics.build_calendar: validated by the independent `icalendar` parser."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from alertd.core.ics import build_calendar as feed
from alertd.core.ics import duration, escape_text, fold
from alertd.core.leads import parse_lead
from alertd.core.model import Deadline
from alertd.core.planner import alerts_for
from alertd.core.timerules import due_instant, parse_due
from alertd.core.zones import get_zone

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2021, 5, 1, 12, 0, tzinfo=UTC)


def deadline(id_: str = "d1", *, title: str = "A deadline", due: str = "2021-05-21",
             timezone: str = "Europe/Moscow", remind: tuple[str, ...] = ("7d", "1d", "6h", "1h", "0"),
             notes: str | None = None, links: tuple[str, ...] = (), tags: tuple[str, ...] = ()) -> Deadline:
    written = parse_due(due)
    instant, resolution = due_instant(written, get_zone(timezone))
    return Deadline(id=id_, title=title, timezone=timezone, written=written, due=instant,
                    leads=tuple(parse_lead(r) for r in remind), channels=("stdout",), resolution=resolution,
                    notes=notes, links=links, tags=tags)


def parse(text: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(text.encode("utf-8"))


def events(text: str) -> list[icalendar.Event]:
    return parse(text).walk("VEVENT")


def test_the_feed_has_one_event_per_deadline_with_a_stable_uid() -> None:
    ds = [deadline("b-second", due="2021-06-01"), deadline("a-first")]
    first = feed(ds, now=NOW)
    later = feed(ds, now=NOW + timedelta(days=3))
    uids = ["b-second-20210601T210000Z@alertd", "a-first-20210521T210000Z@alertd"]  # config order
    assert [str(e["UID"]) for e in events(first)] == uids
    assert [str(e["UID"]) for e in events(later)] == uids
    assert first.replace("20210501T120000Z", "") == later.replace("20210504T120000Z", "")


def test_the_seed_deadline_starts_at_the_end_of_its_moscow_day_with_an_alarm_per_lead() -> None:
    (event,) = events(feed([deadline()], now=NOW))
    assert event.decoded("DTSTART") == datetime(2021, 5, 21, 21, 0, tzinfo=UTC)
    assert event.decoded("DTSTAMP") == NOW
    assert [a.decoded("TRIGGER") for a in event.walk("VALARM")] == [
        -timedelta(days=7), -timedelta(days=1), -timedelta(hours=6), -timedelta(hours=1), timedelta(0)]
    assert [str(a["ACTION"]) for a in event.walk("VALARM")] == ["DISPLAY"] * 5


def test_triggers_are_written_as_the_leads_iso_durations() -> None:
    text = feed([deadline()], now=NOW)
    triggers = [line for line in text.split("\r\n") if line.startswith("TRIGGER:")]
    assert triggers == ["TRIGGER:-P7D", "TRIGGER:-P1D", "TRIGGER:-PT6H", "TRIGGER:-PT1H", "TRIGGER:PT0S"]


def test_an_alarm_across_a_dst_change_rings_when_alertd_fires() -> None:
    """7d before 1 April 12:00 Berlin is 25 March 12:00 CET: 6 days 23 hours of elapsed time."""
    d = deadline(due="2021-04-01T12:00", timezone="Europe/Berlin", remind=("7d", "0"))
    (event,) = events(feed([d], now=NOW))
    start = event.decoded("DTSTART")
    rings = [start + a.decoded("TRIGGER") for a in event.walk("VALARM")]
    assert rings == [a.fire_at for a in alerts_for(d)]
    assert "TRIGGER:-P6DT23H\r\n" in feed([d], now=NOW)


def test_commas_semicolons_backslashes_and_newlines_round_trip_in_title_and_notes() -> None:
    title = r"Sanctions, round 2; reply by C:\desk"
    notes = "Line one, with a comma;\nline two\r\nline three\\end"
    text = feed([deadline(title=title, notes=notes)], now=NOW)
    (event,) = events(text)
    assert str(event["SUMMARY"]) == title
    assert notes.replace("\r\n", "\n") in str(event["DESCRIPTION"])
    unfolded = text.replace("\r\n ", "")
    assert r"SUMMARY:Sanctions\, round 2\; reply by C:\\desk" + "\r\n" in unfolded
    assert r"Line one\, with a comma\;\nline two\nline three\\end" in unfolded


def test_tags_are_categories_each_escaped() -> None:
    (event,) = events(feed([deadline(tags=("russia", "a,b"))], now=NOW))
    assert event["CATEGORIES"].cats == ["russia", "a,b"]


def test_every_line_ends_in_crlf_and_is_at_most_75_octets() -> None:
    title = "Десять американских дипломатов должны покинуть Россию до конца дня " * 3
    text = feed([deadline(title=title, notes="x" * 400, links=("https://example.org/" + "p" * 200,))], now=NOW)
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert max(len(line.encode("utf-8")) for line in lines) <= 75
    (event,) = events(text)
    assert str(event["SUMMARY"]) == title
    assert str(event["URL"]) == "https://example.org/" + "p" * 200


def test_control_characters_are_dropped_from_text() -> None:
    (event,) = events(feed([deadline(title="bell\x07 and\ttab")], now=NOW))
    assert str(event["SUMMARY"]) == "bell and\ttab"


def test_redact_applies_to_every_line_before_folding() -> None:
    secret = "s3cr3t-token-" + "z" * 80
    text = feed([deadline(links=(f"https://example.org/hook/{secret}",))], now=NOW,
                redact=lambda line: line.replace(secret, "[redacted]"))
    assert "s3cr3t" not in text.replace("\r\n ", "")


@pytest.mark.parametrize(("seconds", "expected"), [
    (0, "PT0S"), (-604800, "-P7D"), (-21600, "-PT6H"), (-601200, "-P6DT23H"), (-5400, "-PT1H30M"),
    (-129600, "-P1DT12H"), (-61, "-PT1M1S"),
])
def test_durations_are_rfc_5545(seconds: int, expected: str) -> None:
    assert duration(seconds) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("a,b;c\\d", "a\\,b\\;c\\\\d"), ("one\ntwo", "one\\ntwo"), ("one\r\ntwo\rthree", "one\\ntwo\\nthree"),
])
def test_escape_text(text: str, expected: str) -> None:
    assert escape_text(text) == expected


def test_fold_keeps_multibyte_characters_whole() -> None:
    line = "SUMMARY:" + "ж" * 100
    folded = fold(line).split("\r\n ")
    assert "".join(folded) == line
    assert [len(p.encode()) for p in folded] == [74, 74, 60]


def run_ics(config: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "alertd.cli", "ics", "-c", str(config)],
                          capture_output=True, timeout=60, check=False)


def test_the_ics_command_prints_the_shipped_config_as_a_valid_calendar() -> None:
    result = run_ics(ROOT / "config")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"\n" not in result.stdout.replace(b"\r\n", b"")
    (event,) = icalendar.Calendar.from_ical(result.stdout).walk("VEVENT")
    assert str(event["UID"]) == "us-diplomats-leave-russia-20210521T210000Z@alertd"
    assert event.decoded("DTSTART") == datetime(2021, 5, 21, 21, 0, tzinfo=UTC)


def test_the_ics_command_fails_with_the_config_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("deadlines:\n  - id: x\n    titel: typo\n", encoding="utf-8")
    result = run_ics(tmp_path)
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"bad.yaml" in result.stderr


def test_alarm_text_says_the_lead_in_words() -> None:
    (event,) = events(feed([deadline(remind=("7d", "1d12h", "90m", "0"))], now=NOW))
    assert [str(a["DESCRIPTION"]) for a in event.walk("VALARM")] == [
        "A deadline (due in 7 days)", "A deadline (due in 1 day 12 hours)", "A deadline (due in 1 hour 30 minutes)",
        "A deadline (due now)"]


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC"])
def test_a_utc_deadline_shows_its_due_once(zone: str) -> None:
    (event,) = events(feed([deadline(due="2021-05-21T18:00", timezone=zone)], now=NOW))
    assert str(event["DESCRIPTION"]) == f"Due Fri 21 May 2021, 18:00 UTC ({zone})"


def test_a_deadline_in_another_zone_shows_its_due_there_and_in_utc() -> None:
    (event,) = events(feed([deadline()], now=NOW))
    assert str(event["DESCRIPTION"]) == "Due Fri 21 May 2021, 24:00 MSK (Europe/Moscow)\n= Fri 21 May 2021, 21:00 UTC"


def test_a_feed_without_deadlines_is_still_a_valid_calendar() -> None:
    """RFC 5545 §3.6: a VCALENDAR holds at least one component; `icalendar` refuses one that holds none.
    The empty feed holds the definition of UTC, which no calendar shows."""
    text = feed([], now=NOW)
    calendar = parse(text)
    calendar.validate()  # raises IncompleteComponent for a calendar without components
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE"]
    assert calendar.walk("VEVENT") == [] and calendar.walk("VALARM") == []
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone.to_tz().utcoffset(datetime(2021, 5, 21)) == timedelta(0)
    with_one = parse(feed([deadline()], now=NOW))
    with_one.validate()
    assert [c.name for c in with_one.subcomponents] == ["VEVENT"]  # the placeholder only when there is nothing else


@pytest.mark.parametrize(("due", "stamp"), [
    ("0001-01-07", "00010108T000000Z"), ("0999-12-31T12:00", "09991231T120000Z"), ("9999-12-30", "99991231T000000Z"),
])
def test_instants_are_written_with_four_digit_years(due: str, stamp: str) -> None:
    text = feed([deadline(due=due, timezone="UTC", remind=("1d", "0"))], now=NOW)
    assert f"DTSTART:{stamp}\r\n" in text
    assert f"-{stamp}@alertd" in text.replace("\r\n ", "")
    (event,) = events(text)
    assert event.decoded("DTSTART") == datetime.fromisoformat(stamp[:8] + stamp[8:-1]).replace(tzinfo=UTC)
