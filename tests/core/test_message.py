"""The human message every channel shows: wording, zones, end of day, lateness."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from alertd.core.leads import Lead
from alertd.core.message import lead_words, render
from tests.seed import seed_deadline, seed_note, utc

DUE = utc(2021, 5, 21, 21)


@pytest.mark.parametrize(
    ("lead", "headline"),
    [("7d", "in 7 days"), ("1d", "in 1 day"), ("6h", "in 6 hours"), ("1h", "in 1 hour"), ("0", "due now")],
)
def test_an_on_time_alert_says_how_far_away_by_its_lead(lead: str, headline: str) -> None:
    note = seed_note(lead)
    assert render(note, now=note.scheduled_for).headline == headline


def test_the_subject_names_the_lead_and_the_title() -> None:
    note = seed_note("1d")
    assert render(note, now=note.scheduled_for).subject == "[alertd] in 1 day: Ten US diplomats must leave Russia"


def test_an_end_of_day_due_is_shown_as_24_00_of_its_day_never_00_00_next_day() -> None:
    note = seed_note("1d")
    text = render(note, now=note.scheduled_for).text
    assert "Due: Fri 21 May 2021, 24:00 MSK (Europe/Moscow)" in text
    assert "Fri 21 May 2021, 21:00 UTC" in text
    assert "22 May" not in text
    assert "00:00" not in text


def test_the_channel_zone_is_shown_when_the_channel_sets_one() -> None:
    note = seed_note("1d")
    msg = render(note, now=note.scheduled_for, channel_zone="America/New_York")
    assert [str(d) for d in msg.dues] == [
        "Fri 21 May 2021, 24:00 MSK (Europe/Moscow)",
        "Fri 21 May 2021, 21:00 UTC",
        "Fri 21 May 2021, 17:00 EDT (America/New_York)",
    ]


def test_a_zone_already_shown_is_not_repeated() -> None:
    note = seed_note("1d")
    msg = render(note, now=note.scheduled_for, channel_zone="Europe/Moscow")
    assert [d.zone for d in msg.dues] == ["Europe/Moscow", "UTC"]


def test_an_end_of_day_due_in_a_channel_zone_at_its_midnight_reads_24_00() -> None:
    note = seed_note("1d")
    msg = render(note, now=note.scheduled_for, channel_zone="Europe/Istanbul")  # UTC+3 like Moscow
    assert msg.dues[-1].text == "Fri 21 May 2021, 24:00 +03"


def test_a_late_at_deadline_alert_says_how_long_ago_it_was_due() -> None:
    note = seed_note("0", late_by_seconds=3 * 3600)
    msg = render(note, now=DUE + timedelta(hours=3))
    assert msg.headline == "was due 3 h ago"
    assert msg.subject == "[alertd] was due 3 h ago: Ten US diplomats must leave Russia"


def test_a_late_reminder_measures_from_now_and_says_it_is_late() -> None:
    note = seed_note("1d", late_by_seconds=3 * 3600)
    msg = render(note, now=note.scheduled_for + timedelta(hours=3))
    assert msg.headline == "in 21 h"
    assert msg.late_note == "This 1 day reminder is late: it was due 3 h ago."
    assert msg.late_note in msg.text


def test_a_title_with_line_breaks_makes_a_one_line_subject() -> None:
    note = seed_note("1d")
    note = replace(note, deadline=replace(note.deadline, title="Leave\r\nBcc: x@example.org"))
    assert render(note, now=note.scheduled_for).subject == "[alertd] in 1 day: Leave Bcc: x@example.org"


def test_notes_links_and_tags_are_in_the_text() -> None:
    note = seed_note("1d")
    note = replace(note, deadline=replace(seed_deadline(), links=("https://example.org/story",)))
    text = render(note, now=note.scheduled_for).text
    assert "persona non grata" in text
    assert "- https://example.org/story" in text
    assert "Tags: russia, usa, diplomacy" in text


@pytest.mark.parametrize(
    ("lead", "words"),
    [(Lead(days=1, seconds=12 * 3600), "1 day 12 hours"), (Lead(seconds=5400), "1 hour 30 minutes"),
     (Lead(days=14), "14 days"), (Lead(seconds=1), "1 second")],
)
def test_lead_words(lead: Lead, words: str) -> None:
    assert lead_words(lead) == words


def test_an_end_of_day_whose_midnight_does_not_exist_still_reads_24_00_of_its_day() -> None:
    """Santiago skipped 5 Sep 2021 00:00-01:00; the end of 4 Sep is 01:00 -03 on the wall clock."""
    from alertd.core.timerules import due_instant, parse_due  # noqa: PLC0415
    from alertd.core.zones import get_zone  # noqa: PLC0415

    written = parse_due("2021-09-04")
    due, resolution = due_instant(written, get_zone("America/Santiago"))
    deadline = replace(seed_deadline(), timezone="America/Santiago", written=written, due=due, resolution=resolution)
    note = replace(seed_note("0"), deadline=deadline, scheduled_for=due)
    assert [str(d) for d in render(note, now=due).dues] == [
        "Sat 4 Sep 2021, 24:00 -04 (America/Santiago)",
        "Sun 5 Sep 2021, 04:00 UTC",
    ]
