"""Teams Workflows webhooks end to end against a loopback receiver that answers as Power Automate does."""

from __future__ import annotations

import asyncio
import json

import pytest

from alertd import __version__
from alertd.core.message import render
from alertd.delivery.channels.clip import MARK
from alertd.delivery.channels.teams import MAX_BYTES, card
from tests.peers import Answer, Receiver

from .kit import HOSTILE_TITLE, LONG_NOTES, ON_TIME, SEED_DUES, attempt, channel, note

SIG = "sig=Xk3vQ9mZ2pL8rT4wY6uB1nC5dF7gH0jKsEcRtYuI"
PATH = f"/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=2016-06-01&{SIG}"


def teams(receiver: Receiver, **extra: object):
    return channel({"type": "teams", "url": receiver.url(PATH), **extra})


def runs(body: dict) -> list[dict]:
    return [block["inlines"][0] for block in body["attachments"][0]["content"]["body"]]


def test_it_posts_an_adaptive_card_in_the_workflows_envelope(receiver: Receiver) -> None:
    receiver.answer(Answer(202, ""))
    assert asyncio.run(attempt(teams(receiver), note("1d"))) is None
    (seen,) = receiver.seen
    assert (seen.method, seen.path) == ("POST", PATH)
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == f"alertd/{__version__}"
    body = seen.json()
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert (content["type"], content["version"]) == ("AdaptiveCard", "1.2")
    assert "actions" not in content  # the seed has no links, and no action links exist yet
    assert runs(body) == [
        {"type": "TextRun", "text": "Ten US diplomats must leave Russia", "size": "Large", "weight": "Bolder"},
        {"type": "TextRun", "text": "In 1 day", "weight": "Bolder", "color": "Accent"},
        {"type": "TextRun", "text": SEED_DUES[0]},
        {"type": "TextRun", "text": SEED_DUES[1]},
        {"type": "TextRun", "text": note().deadline.notes},
        {"type": "TextRun", "text": "Tags: russia, usa, diplomacy", "isSubtle": True},
    ]
    assert all(block["type"] == "RichTextBlock" and block["wrap"] for block in content["body"])


def test_a_hostile_title_is_a_plain_text_run_intact_and_long_notes_are_cut_visibly(receiver: Receiver) -> None:
    assert asyncio.run(attempt(teams(receiver), note(title=HOSTILE_TITLE, notes=LONG_NOTES))) is None
    (seen,) = receiver.seen
    assert len(seen.body) <= MAX_BYTES
    texts = [r["text"] for r in runs(seen.json())]
    assert texts[0] == HOSTILE_TITLE  # TextRuns are never Markdown, so nothing needs escaping
    assert texts[4].endswith(MARK)
    assert LONG_NOTES.startswith(texts[4].removesuffix(MARK))


def test_notes_of_four_byte_characters_still_fit_28_kb(receiver: Receiver) -> None:
    assert asyncio.run(attempt(teams(receiver), note(notes="🚀" * 10_000))) is None
    assert len(receiver.seen[0].body) <= MAX_BYTES


@pytest.mark.parametrize(("kind", "color"), [("deadline.due", "Attention"), ("deadline.overdue", "Attention"),
                                             ("deadline.escalation", "Attention"), ("deadline.done", "Good"),
                                             ("alertd.test", "Default")])
def test_the_headline_colour_follows_the_kind(receiver: Receiver, kind: str, color: str) -> None:
    assert asyncio.run(attempt(teams(receiver), note("0", kind=kind))) is None
    assert runs(receiver.seen[0].json())[1]["color"] == color


def test_action_links_become_open_url_buttons_before_the_deadlines_links() -> None:
    msg = render(note(links=("https://example.org/story",)), now=ON_TIME)
    out = card(msg, tone_="due", actions={"done": "https://alertd.example/a/T2", "ack": "https://alertd.example/a/T1"})
    assert out["actions"] == [
        {"type": "Action.OpenUrl", "title": "Acknowledge", "url": "https://alertd.example/a/T1"},
        {"type": "Action.OpenUrl", "title": "Done", "url": "https://alertd.example/a/T2"},
        {"type": "Action.OpenUrl", "title": "Link 1", "url": "https://example.org/story"},
    ]


def test_429_waits_for_retry_after(receiver: Receiver) -> None:
    receiver.answer(Answer(429, json.dumps({"error": {"code": "TooManyRequests"}}), {"Retry-After": "7"}))
    error = asyncio.run(attempt(teams(receiver), note()))
    assert error is not None
    assert (error.permanent, error.retry_after) == (False, 7.0)


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (401, True), (403, True), (404, True), (413, True),
                                                    (408, False), (500, False), (502, False)])
def test_the_verdict_by_status(receiver: Receiver, status: int, permanent: bool) -> None:
    receiver.answer(Answer(status, json.dumps({"error": {"code": "WorkflowTriggerIsNotEnabled"}})))
    error = asyncio.run(attempt(teams(receiver), note()))
    assert error is not None
    assert error.permanent is permanent
    assert str(error).startswith(f"HTTP {status}")


def test_a_hanging_workflow_is_a_retryable_timeout_and_the_url_never_shows(receiver: Receiver) -> None:
    receiver.answer(Answer(hang=True))
    error = asyncio.run(attempt(teams(receiver, timeout=0.3), note()))
    assert error is not None
    assert (str(error), error.permanent) == ("no answer within 0.3 s", False)
