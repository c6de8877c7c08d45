"""iCalendar text: escaping, folding, stable UIDs, alarms at alertd's own instants."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from alertd.core.ics import build_calendar, build_event, escape_text, fold
from alertd.core.planner import alerts_for
from tests.seed import seed_deadline, utc

NOW = utc(2021, 5, 1, 12, 0, 0)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [("a,b;c", "a\\,b\\;c"), ("back\\slash", "back\\\\slash"), ("one\r\ntwo\nthree", "one\\ntwo\\nthree"),
     ("plain", "plain")],
)
def test_text_is_escaped_per_rfc_5545(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


def test_long_lines_fold_at_75_octets_without_splitting_a_character() -> None:
    line = "SUMMARY:" + "Дипломаты должны покинуть Россию, " * 5
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert folded.replace("\r\n ", "") == line


def test_one_event_has_a_stable_uid_from_id_and_due() -> None:
    d = seed_deadline()
    lines = unfold(build_event(d, now=NOW))
    assert lines[0] == "BEGIN:VEVENT"
    assert "UID:us-diplomats-leave-russia-20210521T210000Z@alertd" in lines
    assert "DTSTAMP:20210501T120000Z" in lines
    assert "DTSTART:20210521T210000Z" in lines
    assert "SUMMARY:Ten US diplomats must leave Russia" in lines
    assert "CATEGORIES:russia,usa,diplomacy" in lines
    assert build_event(d, now=utc(2022, 1, 1)).split("DTSTAMP")[0] == build_event(d, now=NOW).split("DTSTAMP")[0]
    moved = replace(d, due=utc(2021, 5, 22, 21))
    assert "UID:us-diplomats-leave-russia-20210522T210000Z@alertd" in unfold(build_event(moved, now=NOW))


def test_config_text_cannot_add_a_property() -> None:
    d = replace(seed_deadline(), title="x\r\nATTENDEE:mailto:evil@example.org", notes="n\nORGANIZER:x",
                links=("https://example.org/a\r\nX-EVIL:1",))
    lines = unfold(build_event(d, now=NOW))
    assert not any(line.startswith(("ATTENDEE", "ORGANIZER", "X-EVIL")) for line in lines)
    assert "SUMMARY:x\\nATTENDEE:mailto:evil@example.org" in lines


def parse_duration(text: str) -> timedelta:
    """Read back the RFC 5545 durations alertd writes (sign, days, hours, minutes, seconds)."""
    m = re.fullmatch(r"(-?)P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text)
    assert m, text
    sign = -1 if m[1] else 1
    d, h, mi, s = (int(x or 0) for x in m.groups()[1:])
    return sign * timedelta(days=d, hours=h, minutes=mi, seconds=s)


def test_the_calendar_has_an_alarm_at_every_planned_instant() -> None:
    d = seed_deadline()
    text = build_calendar([d, replace(d, id="second")], now=NOW)
    assert text.endswith("END:VCALENDAR\r\n")
    lines = unfold(text)
    assert lines[:4] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//alertd//alertd deadline alerts//EN",
                         "CALSCALE:GREGORIAN"]
    assert lines.count("BEGIN:VEVENT") == 2
    triggers = [line.removeprefix("TRIGGER:") for line in lines if line.startswith("TRIGGER")]
    rings = [(d.due + parse_duration(t)).strftime("%Y%m%dT%H%M%SZ") for t in triggers]
    planned = [a.fire_at.strftime("%Y%m%dT%H%M%SZ") for a in alerts_for(d)]
    assert rings == planned * 2
    assert planned == ["20210514T210000Z", "20210520T210000Z", "20210521T150000Z", "20210521T200000Z",
                       "20210521T210000Z"]


def test_every_line_ends_with_crlf() -> None:
    text = build_calendar([seed_deadline()], now=NOW)
    assert "\n" not in text.replace("\r\n", "")
