"""Repeats, escalations and notices as every channel shows them: an overdue alert looks overdue."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

import standardwebhooks
import structlog

from alertd.config.schema import ConsoleChannel, EmailChannel, SlackChannel
from alertd.core.afterdue import after_due_alert
from alertd.core.leads import Lead
from alertd.core.message import render
from alertd.core.model import AfterDue, Step
from alertd.core.notification import Notification
from alertd.core.state import Act, Action
from alertd.delivery.channels.base import SendContext
from alertd.delivery.channels.console import ConsoleSender
from alertd.delivery.channels.email import build_email
from alertd.delivery.channels.slack import SlackSender
from alertd.delivery.channels.webhook import payload
from tests.delivery.channels.test_http_channels import SECRET, attempt, webhook
from tests.peers import Receiver
from tests.seed import seed_deadline

D = replace(seed_deadline(), channels=("ops",),
            after=AfterDue(15 * 60, 86400, (Step(15 * 60, ("duty",)), Step(3600, ("boss",)))))
DUE = D.due


def repeat(minutes: int = 45, late: int = 0) -> Notification:
    alert = after_due_alert(D, Lead.after_due(minutes * 60), "ops")
    assert alert is not None
    return replace(Notification.for_planned(alert, "ops"), late_by_seconds=late)


def notice(act: Act = Act.ACK, **extra: object) -> Notification:
    action = Action(D.id, DUE, act, "alice", DUE + timedelta(minutes=50), id=list(Act).index(act) + 1,
                    **extra)  # type: ignore[arg-type]
    return Notification.for_notice(D, action, "ops")


def test_a_repeat_reads_overdue_and_tells_how_to_acknowledge() -> None:
    note = repeat(45)
    now = DUE + timedelta(minutes=45)
    msg = render(note, now=now)
    assert note.kind == "deadline.overdue" and note.lead.iso == "-PT45M"
    assert msg.headline == "OVERDUE by 45 min"
    assert msg.subject == "[alertd] OVERDUE by 45 min: Ten US diplomats must leave Russia"
    assert msg.text.endswith("\nTo acknowledge: alertd ack us-diplomats-leave-russia\n")
    body = payload(note, now=now)
    assert body["type"] == "deadline.overdue"
    assert {k: body["data"][k] for k in ("lead", "overdue_by_seconds", "late_by_seconds", "ack_command")} == {
        "lead": "-PT45M", "overdue_by_seconds": 2700, "late_by_seconds": 0,
        "ack_command": "alertd ack us-diplomats-leave-russia"}
    assert "actions" not in body["data"]  # no public URL to act on yet
    assert "OVERDUE by 45 min" in body["data"]["text"]


def test_an_escalation_says_which_step() -> None:
    step = after_due_alert(D, Lead.after_due(3600), "boss")
    assert step is not None
    note = Notification.for_planned(step, "boss")
    now = DUE + timedelta(hours=1)
    assert note.kind == "deadline.escalation"
    assert render(note, now=now).headline == "OVERDUE by 1 h, escalated (step 2 of 2)"
    assert payload(note, now=now)["data"]["escalation_step"] == 2


def test_a_late_repeat_says_it_is_late() -> None:
    note = repeat(45, late=20 * 60)
    msg = render(note, now=DUE + timedelta(minutes=65))
    assert msg.headline == "OVERDUE by 1 h 5 min"
    assert msg.late_note == "This repeat is late: it was planned for 20 min ago."


def test_a_reminder_tells_how_to_acknowledge_too() -> None:
    note = Notification.for_alert(D, Lead(days=1), D.fire_at(Lead(days=1)), "ops")
    assert render(note, now=note.scheduled_for).hint == "To acknowledge: alertd ack us-diplomats-leave-russia"
    assert payload(note, now=note.scheduled_for)["data"]["ack_command"] == "alertd ack us-diplomats-leave-russia"


def test_notices_say_who_did_what_with_the_note() -> None:
    ack = notice(note="on it")
    msg = render(ack, now=ack.scheduled_for)
    assert msg.headline == "acknowledged by alice"
    assert "Note from alice: on it" in msg.text and "To undo: alertd reopen us-diplomats-leave-russia" in msg.text
    body = payload(ack, now=ack.scheduled_for)
    assert body["type"] == "deadline.acknowledged"
    assert {k: body["data"].get(k) for k in ("by", "note", "at", "until")} == {
        "by": "alice", "note": "on it", "at": "2021-05-21T21:50:00Z", "until": None}
    assert "lead" not in body["data"] and "ack_command" not in body["data"]
    snooze = notice(Act.SNOOZE, until=DUE + timedelta(hours=3))
    assert render(snooze, now=snooze.scheduled_for).headline == "snoozed by alice until Sat 22 May 2021, 03:00 MSK"
    assert payload(snooze, now=snooze.scheduled_for)["data"]["until"] == "2021-05-22T00:00:00Z"
    done = notice(Act.DONE)
    assert (done.kind, render(done, now=done.scheduled_for).headline) == ("deadline.done", "marked done by alice")
    assert done.key != ack.key  # one key per action and channel


def test_slack_shows_the_overdue_line_in_capitals_and_the_ack_command() -> None:
    sender = SlackSender("ops", SlackChannel(type="slack", url="https://hooks.slack.test/x"), SendContext.create())
    body = sender.body(repeat(45), now=DUE + timedelta(minutes=45))
    assert body["blocks"][1]["text"]["text"].startswith("*OVERDUE by 45 min*")
    assert body["blocks"][-1]["elements"][0]["text"] == "To acknowledge: `alertd ack us-diplomats-leave-russia`"
    assert body["text"].startswith("Ten US diplomats must leave Russia: OVERDUE by 45 min")
    asyncio.run(sender.ctx.aclose())


def test_email_subject_and_parts() -> None:
    config = EmailChannel.model_validate({"type": "email", "to": ["desk@example.org"], "from": "alertd@example.org",
                                          "smtp": {"host": "localhost"}})
    mail = build_email(repeat(45), config, now=DUE + timedelta(minutes=45))
    assert mail["Subject"] == "[alertd] OVERDUE by 45 min: Ten US diplomats must leave Russia"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "To acknowledge: alertd ack us-diplomats-leave-russia" in text
    assert "<code>alertd ack us-diplomats-leave-russia</code>" in html
    ack = build_email(notice(note="<b>on it</b>"), config, now=DUE + timedelta(minutes=50))
    assert ack["Subject"] == "[alertd] acknowledged by alice: Ten US diplomats must leave Russia"
    assert "&lt;b&gt;on it&lt;/b&gt;" in ack.get_body(("html",)).get_content()


def test_console_logs_the_kind_and_the_overdue_text() -> None:
    sender = ConsoleSender("out", ConsoleChannel(type="console"), SendContext.create())
    with structlog.testing.capture_logs() as logs:
        asyncio.run(sender.send(repeat(45), now=DUE + timedelta(minutes=45)))
    [event] = logs
    assert event["kind"] == "deadline.overdue" and event["lead"] == "-PT45M"
    assert event["message"].startswith("Ten US diplomats must leave Russia: OVERDUE by 45 min")
    asyncio.run(sender.ctx.aclose())


def test_a_notice_goes_out_signed_over_a_real_webhook(receiver: Receiver) -> None:
    note = notice(note="on it")
    assert asyncio.run(attempt(webhook(receiver.url(), secret=SECRET), note)) is None
    [seen] = receiver.seen
    standardwebhooks.Webhook(SECRET).verify(seen.body, seen.headers)
    assert seen.headers["webhook-id"] == note.key
    assert json.loads(seen.body)["type"] == "deadline.acknowledged"

