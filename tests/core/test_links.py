"""Signed action links: a token acts on one deadline's due, until 7 days after it, and nothing else."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alertd.core.links import LIFETIME, Claim, Refusal, Refused, actions, mask, sign, verify

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
DUE = datetime(2021, 5, 21, 21, tzinfo=UTC)
NOW = DUE - timedelta(hours=1)
TOKEN = sign("us-diplomats", DUE, key=KEY)
RAW = base64.urlsafe_b64decode(TOKEN + "=" * (-len(TOKEN) % 4))


def reason(token: str, *, key: bytes = KEY, now: datetime = NOW) -> Refusal:
    with pytest.raises(Refused) as caught:
        verify(token, key=key, now=now)
    return caught.value.reason


def test_a_token_names_its_deadline_and_due():
    assert verify(TOKEN, key=KEY, now=NOW) == Claim("us-diplomats", DUE, DUE + LIFETIME)


def test_a_token_is_one_short_url_safe_path_segment():
    assert re.fullmatch(r"[A-Za-z0-9_-]+", TOKEN)
    assert len(TOKEN) <= 60  # 12-character id: 1 + 4 + 8 + 12 + 16 bytes


def test_the_same_deadline_and_due_make_the_same_token():
    assert sign("us-diplomats", DUE, key=KEY) == TOKEN


def test_a_due_given_in_another_zone_is_the_same_instant():
    moscow = DUE.astimezone(ZoneInfo("Europe/Moscow"))
    assert verify(sign("us-diplomats", moscow, key=KEY), key=KEY, now=NOW).due == DUE


def test_microseconds_and_dues_before_1970_survive():
    due = datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC)
    assert verify(sign("moon", due, key=KEY), key=KEY, now=due).due == due


@pytest.mark.parametrize("index", range(len(RAW)))
def test_altering_any_byte_is_refused(index):
    raw = bytearray(RAW)
    raw[index] ^= 0x01
    altered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    # the version byte makes it another format; the key id bytes name a key this alertd does not have
    expected = (Refusal.MALFORMED if index == 0 else Refusal.UNKNOWN_KEY if index <= 4 else Refusal.TAMPERED)
    assert reason(altered) is expected


@pytest.mark.parametrize("index", range(len(TOKEN)))
def test_changing_any_character_is_refused(index):
    replacement = "A" if TOKEN[index] != "A" else "B"
    altered = TOKEN[:index] + replacement + TOKEN[index + 1:]
    assert reason(altered) in (Refusal.TAMPERED, Refusal.MALFORMED, Refusal.UNKNOWN_KEY)


@pytest.mark.parametrize(("token", "expected"), [
    pytest.param("", Refusal.MALFORMED, id="empty"),
    pytest.param(TOKEN[:-1], Refusal.MALFORMED, id="one-character-short"),
    pytest.param(base64.urlsafe_b64encode(RAW[:-3]).rstrip(b"=").decode(), Refusal.TAMPERED, id="mac-cut-short"),
    pytest.param(TOKEN + "AAAA", Refusal.TAMPERED, id="longer"),
    pytest.param(TOKEN[:10], Refusal.MALFORMED, id="cut-short"),
    pytest.param(TOKEN + "=", Refusal.MALFORMED, id="padding"),
    pytest.param(TOKEN.replace(TOKEN[5], "+", 1), Refusal.MALFORMED, id="not-url-safe"),
    pytest.param(TOKEN + "/x", Refusal.MALFORMED, id="slash"),
    pytest.param("A" * 401, Refusal.MALFORMED, id="huge"),
    pytest.param("é" * 40, Refusal.MALFORMED, id="non-ascii"),
])
def test_what_is_not_a_token_is_refused(token, expected):
    assert reason(token) is expected


def test_a_spare_bit_in_the_last_character_is_not_the_same_token():
    # 41 bytes: the last character carries 2 spare bits that base64 decoding ignores
    raw = RAW
    assert len(raw) % 3 != 0
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(TOKEN[-1])
    sibling = TOKEN[:-1] + alphabet[last ^ 1]
    assert base64.urlsafe_b64decode(sibling + "=" * (-len(sibling) % 4)) == raw
    assert reason(sibling) is Refusal.MALFORMED


def test_a_token_made_with_another_key_is_unknown():
    assert reason(sign("us-diplomats", DUE, key=OTHER_KEY)) is Refusal.UNKNOWN_KEY


@pytest.mark.parametrize(("now", "valid"), [
    pytest.param(DUE - timedelta(days=400), True, id="long-before-the-due"),
    pytest.param(DUE, True, id="at-the-due"),
    pytest.param(DUE + LIFETIME - timedelta(microseconds=1), True, id="last-microsecond"),
    pytest.param(DUE + LIFETIME, False, id="seven-days-after"),
    pytest.param(DUE + timedelta(days=365), False, id="a-year-after"),
])
def test_a_token_expires_seven_days_after_its_due(now, valid):
    if valid:
        assert verify(TOKEN, key=KEY, now=now).deadline_id == "us-diplomats"
    else:
        assert reason(TOKEN, now=now) is Refusal.EXPIRED


def test_an_expired_token_that_was_also_altered_says_tampered():
    """The signature is checked first: an altered token learns nothing about expiry."""
    assert reason(TOKEN[:-2] + ("AA" if TOKEN[-2:] != "AA" else "BA"), now=DUE + LIFETIME) is Refusal.TAMPERED


@pytest.mark.parametrize(("deadline_id", "due", "expected"), [
    pytest.param("us-diplomats", DUE, None, id="its-own"),
    pytest.param("us-diplomats-2", DUE, Refusal.OTHER_DEADLINE, id="other-deadline"),
    pytest.param("us-diplomats", DUE + timedelta(days=1), Refusal.OTHER_DUE, id="other-due"),
    pytest.param("us-diplomats", DUE + timedelta(microseconds=1), Refusal.OTHER_DUE, id="a-microsecond-off"),
])
def test_a_claim_is_good_only_for_its_deadline_and_due(deadline_id, due, expected):
    claim = verify(TOKEN, key=KEY, now=NOW)
    if expected is None:
        claim.check(deadline_id, due)
        return
    with pytest.raises(Refused) as caught:
        claim.check(deadline_id, due)
    assert caught.value.reason is expected


def test_another_deadline_or_due_makes_another_token():
    tokens = {TOKEN, sign("us-diplomats-2", DUE, key=KEY), sign("us-diplomats", DUE + timedelta(seconds=1), key=KEY)}
    assert len(tokens) == 3


@pytest.mark.parametrize(("key", "deadline_id", "due"), [
    pytest.param(b"short", "x", DUE, id="short-key"),
    pytest.param(KEY, "", DUE, id="empty-id"),
    pytest.param(KEY, "x" * 129, DUE, id="long-id"),
    pytest.param(KEY, "x", datetime(2021, 5, 21), id="naive-due"),
])
def test_signing_refuses_what_cannot_make_a_sound_token(key, deadline_id, due):
    with pytest.raises(ValueError, match=r"link|id"):
        sign(deadline_id, due, key=key)


def test_actions_are_the_page_and_the_page_with_an_action_chosen():
    links = actions("https://alertd.example.org/", "TOK")
    assert links.page == "https://alertd.example.org/a/TOK"
    assert links.labelled() == (("Acknowledge", "https://alertd.example.org/a/TOK?do=ack"),
                                ("Snooze 1 h", "https://alertd.example.org/a/TOK?do=snooze"),
                                ("Done", "https://alertd.example.org/a/TOK?do=done"))


def test_actions_keep_a_base_path():
    assert actions("https://example.org/alertd", "TOK").ack == "https://example.org/alertd/a/TOK?do=ack"


def test_mask_hides_every_token_in_a_path():
    text = f'"GET /a/{TOKEN}?do=ack HTTP/1.1" and https://x.org/a/{TOKEN}'
    assert mask(text) == '"GET /a/…?do=ack HTTP/1.1" and https://x.org/a/…'
    assert TOKEN not in mask(text)
