"""Signed action links in every channel that can show them, against each channel's loopback peer.

An alert with a public URL carries Acknowledge / Snooze 1 h / Done links (`Notification.actions`):
each channel lays them out its own way, the console (a log) leaves them out, and without them no
message mentions them.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from dataclasses import replace

import pytest
from structlog.testing import capture_logs

from alertd.core.links import Linker, verify
from alertd.delivery.channels.base import error_text
from alertd.redact import Redactor
from tests.peers import Answer, Receiver
from tests.seed import seed_note

from .kit import ON_TIME, attempt, channel, note
from .test_email import ca, smtp_server  # noqa: F401 - the SMTP peer's fixtures
from .test_email import channel as email_channel
from .test_email import send as send_email
from .test_matrix import matrix
from .test_ntfy import ntfy
from .test_pagerduty import ACCEPTED, pagerduty
from .test_teams import teams
from .test_telegram import telegram

KEY = bytes(range(32))
LINKER = Linker("https://alertd.example.org", KEY)


def linked(n=None):
    n = n if n is not None else note("1d")
    return replace(n, actions=LINKER.actions_for(n.deadline.id, n.deadline.due))


ACTIONS = linked().actions
assert ACTIONS is not None
LINKS = {"ack": ACTIONS.ack, "snooze": ACTIONS.snooze, "done": ACTIONS.done}


def test_the_links_are_the_signed_page_of_this_deadline_and_due() -> None:
    n = note("1d")
    token = ACTIONS.page.rsplit("/a/", 1)[1]
    claim = verify(token, key=KEY, now=ON_TIME)
    assert (claim.deadline_id, claim.due) == (n.deadline.id, n.deadline.due)
    assert ACTIONS.ack == f"{ACTIONS.page}?do=ack"


def test_slack_gets_a_button_per_action_that_opens_its_link(receiver: Receiver) -> None:
    config = channel({"type": "slack", "url": receiver.url("/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")})
    assert asyncio.run(attempt(config, linked())) is None
    blocks = receiver.seen[0].json()["blocks"]
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert [(e["type"], e["text"]["text"], e["url"]) for e in actions["elements"]] == [
        ("button", "Acknowledge", LINKS["ack"]), ("button", "Snooze 1 h", LINKS["snooze"]),
        ("button", "Done", LINKS["done"])]
    assert actions["elements"][0]["style"] == "primary"


def test_slack_without_links_has_no_buttons(receiver: Receiver) -> None:
    config = channel({"type": "slack", "url": receiver.url("/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX")})
    assert asyncio.run(attempt(config, note("1d"))) is None
    assert all(b["type"] != "actions" for b in receiver.seen[0].json()["blocks"])


def test_the_webhook_carries_data_actions(receiver: Receiver) -> None:
    config = channel({"type": "webhook", "url": receiver.url()})
    assert asyncio.run(attempt(config, linked())) is None
    data = receiver.seen[0].json()["data"]
    assert data["actions"] == [
        {"action": "ack", "label": "Acknowledge", "url": LINKS["ack"]},
        {"action": "snooze", "label": "Snooze 1 h", "url": LINKS["snooze"]},
        {"action": "done", "label": "Done", "url": LINKS["done"]}]
    assert f"Acknowledge: {LINKS['ack']}" in data["text"]


def test_the_webhook_without_links_has_no_actions_key(receiver: Receiver) -> None:
    assert asyncio.run(attempt(channel({"type": "webhook", "url": receiver.url()}), note("1d"))) is None
    data = receiver.seen[0].json()["data"]
    assert "actions" not in data and "/a/" not in data["text"]


def test_a_redactor_holding_secrets_leaves_the_links_whole(receiver: Receiver) -> None:
    """The body is never redacted: a link that looks like a secret still arrives as it was made."""
    token = ACTIONS.page.rsplit("/a/", 1)[1]
    config = channel({"type": "webhook", "url": receiver.url()})
    assert asyncio.run(attempt(config, linked(), secrets=(token[:20], "alertd.example.org"))) is None
    assert [a["url"] for a in receiver.seen[0].json()["data"]["actions"]] == list(LINKS.values())


def test_email_has_the_links_in_its_text_and_html_parts(smtp_server) -> None:  # noqa: F811 - fixture
    assert send_email(email_channel(smtp_server), replace(seed_note("1d"), actions=ACTIONS)) is None
    (envelope,) = smtp_server.mailbox.envelopes
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    text = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert f"Acknowledge: {LINKS['ack']}\nSnooze 1 h: {LINKS['snooze']}\nDone: {LINKS['done']}\n" in text
    page = mail.get_body(preferencelist=("html",)).get_content()
    assert f'<a href="{LINKS["ack"]}">Acknowledge</a>' in page
    assert f'<a href="{LINKS["done"]}">Done</a>' in page


def test_teams_gets_open_url_actions(receiver: Receiver) -> None:
    receiver.answer(Answer(202, ""))
    assert asyncio.run(attempt(teams(receiver), linked())) is None
    content = receiver.seen[0].json()["attachments"][0]["content"]
    assert content["actions"][:3] == [
        {"type": "Action.OpenUrl", "title": "Acknowledge", "url": LINKS["ack"]},
        {"type": "Action.OpenUrl", "title": "Snooze 1 h", "url": LINKS["snooze"]},
        {"type": "Action.OpenUrl", "title": "Done", "url": LINKS["done"]}]


def test_ntfy_buttons_post_to_the_links_and_the_tap_opens_the_page(receiver: Receiver) -> None:
    assert asyncio.run(attempt(ntfy(receiver), linked(note("1d", links=())))) is None
    body = receiver.seen[0].json()
    assert body["actions"] == [
        {"action": "http", "label": label, "url": LINKS[key], "method": "POST", "clear": True}
        for key, label in (("ack", "Acknowledge"), ("snooze", "Snooze 1 h"), ("done", "Done"))]
    assert body["click"] == ACTIONS.page


def test_telegram_gets_an_inline_keyboard_of_url_buttons(receiver: Receiver) -> None:
    receiver.answer(Answer(200, json.dumps({"ok": True, "result": {"message_id": 1}})))
    assert asyncio.run(attempt(telegram(receiver), linked())) is None
    assert receiver.seen[0].json()["reply_markup"] == {"inline_keyboard": [[
        {"text": "Acknowledge", "url": LINKS["ack"]}, {"text": "Snooze 1 h", "url": LINKS["snooze"]},
        {"text": "Done", "url": LINKS["done"]}]]}


def test_discord_has_the_links_in_its_embed(receiver: Receiver) -> None:
    config = channel({"type": "discord", "url": receiver.url("/api/webhooks/123/" + "t" * 68)})
    assert asyncio.run(attempt(config, linked())) is None
    description = receiver.seen[0].json()["embeds"][0]["description"]
    assert f"[Acknowledge]({LINKS['ack']})" in description
    assert f"[Done]({LINKS['done']})" in description


def test_matrix_has_the_links_in_both_bodies(receiver: Receiver) -> None:
    receiver.answer(Answer(200, json.dumps({"event_id": "$e"})))
    assert asyncio.run(attempt(matrix(receiver), linked())) is None
    content = receiver.seen[0].json()
    assert f"Acknowledge: {LINKS['ack']}" in content["body"]
    assert f'<a href="{LINKS["ack"]}">Acknowledge</a>' in content["formatted_body"].replace("&amp;", "&")


def test_pagerduty_has_the_links_in_links(receiver: Receiver) -> None:
    receiver.answer(Answer(202, ACCEPTED))
    assert asyncio.run(attempt(pagerduty(receiver), linked())) is None
    assert receiver.seen[0].json()["links"][:3] == [
        {"href": LINKS["ack"], "text": "Acknowledge"}, {"href": LINKS["snooze"], "text": "Snooze 1 h"},
        {"href": LINKS["done"], "text": "Done"}]


def test_the_console_a_log_leaves_the_links_out() -> None:
    with capture_logs() as logs:
        assert asyncio.run(attempt(channel({"type": "console"}), linked())) is None
    (event,) = [e for e in logs if e["event"] == "alert.console"]
    assert "/a/" not in json.dumps(event)
    assert "To acknowledge: alertd ack us-diplomats-leave-russia" in event["text"]


@pytest.mark.parametrize("echo", [
    "HTTP 400: bad body {\"url\": \"https://alertd.example.org/a/TOKEN_abc-123?do=ack\"}",
    "see https://alertd.example.org/a/Zm9vYmFy",
])
def test_a_receiver_echoing_a_link_in_its_error_does_not_put_the_token_in_the_ledger(echo: str) -> None:
    kept = error_text(echo, Redactor())
    assert "/a/…" in kept
    assert "TOKEN_abc" not in kept and "Zm9vYmFy" not in kept
