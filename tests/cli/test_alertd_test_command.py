"""`alertd test CHANNEL` through the real command line, and the no-secret-leaks check."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from freezegun import freeze_time

from alertd.cli import main
from tests.peers import Answer, Receiver

SLACK_TOKEN = "T0001/B0002/slack-token-abcdef"
HEADER_VALUE = "hdr-value-4c7e91"
SIGNING_KEY = "whsec_" + base64.b64encode(b"signing-key-for-leak-test").decode()
SMTP_PASSWORD = "smtp-password-93f1"
# The hosted channels' credentials are random-looking from their first character, so the test can
# also catch a part of one (a secret cut in half before redaction would show its start).
TEAMS_SIG = "Xk3vQ9mZ2pL8rT4wTeAmSsIg"
DISCORD_TOKEN = "Y6uB1nC5dF7gH0jKdIsCoRd"
TELEGRAM_TOKEN = "7123456789:AAF3kq9ZxW2vB8nM4pL6tR1yU5i"
NTFY_TOPIC = "sEcRtYuI0oNtFyToPiC"
NTFY_TOKEN = "tk_Nf9e7D6c5B4aQz8Wx"
PD_KEY = "Pd7kQ2xR9mN4vB8cL1jH6gF3dS5aZ0wE"
MATRIX_TOKEN = "syt_Mx5Gh7Jk9LmQp2Rs4Tu"
APPRISE_TOKEN = "Qw2Er4Ty6Ui8ApPrIsE"
HOSTED_SECRETS = (TEAMS_SIG, DISCORD_TOKEN, TELEGRAM_TOKEN.partition(":")[2], NTFY_TOPIC, NTFY_TOKEN, PD_KEY,
                  MATRIX_TOKEN, APPRISE_TOKEN)
SECRETS = (SLACK_TOKEN, HEADER_VALUE, SIGNING_KEY, SMTP_PASSWORD, TELEGRAM_TOKEN, *HOSTED_SECRETS)
HOSTED = ("desk-teams", "desk-discord", "desk-telegram", "desk-ntfy", "desk-pagerduty", "desk-matrix",
          "desk-apprise")

CONFIG = """\
defaults:
  timezone: Europe/Moscow
  remind: [1d, 0]
  channels: [stdout]
channels:
  stdout:
    type: console
  ops-slack:
    type: slack
    url: ${SLACK_URL}
  audit:
    type: webhook
    url: ${HOOK_URL}
    secret: ${HOOK_SECRET}
    headers: {X-Token: "${HOOK_HEADER}"}
    timezone: America/New_York
  desk-email:
    type: email
    to: [desk@example.org]
    from: alertd@example.org
    smtp: {host: 127.0.0.1, port: 9, security: none, username: alertd, password: "${SMTP_PASSWORD}"}
  desk-teams:
    type: teams
    url: ${TEAMS_URL}
  desk-discord:
    type: discord
    url: ${DISCORD_URL}
  desk-telegram:
    type: telegram
    token: ${TELEGRAM_TOKEN}
    chat_id: "-1001234567890"
    api_url: ${API_BASE}
  desk-ntfy:
    type: ntfy
    server: ${API_BASE}
    topic: ${NTFY_TOPIC}
    token: ${NTFY_TOKEN}
  desk-pagerduty:
    type: pagerduty
    routing_key: ${PD_KEY}
    url: ${API_BASE}/v2/enqueue
  desk-matrix:
    type: matrix
    homeserver: ${API_BASE}
    room: "!desk:example.org"
    access_token: ${MATRIX_TOKEN}
  desk-apprise:
    type: apprise
    urls: ["${APPRISE_URL}"]
deadlines:
  - id: leave
    title: Ten US diplomats must leave Russia
    due: 2031-05-21
    channels: [stdout, ops-slack, audit, desk-email]
"""


@pytest.fixture
def config_dir(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "alertd.yaml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("SLACK_URL", receiver.url(f"/services/{SLACK_TOKEN}"))
    monkeypatch.setenv("HOOK_URL", receiver.url("/hook"))
    monkeypatch.setenv("HOOK_SECRET", SIGNING_KEY)
    monkeypatch.setenv("HOOK_HEADER", HEADER_VALUE)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("TEAMS_URL", receiver.url(f"/workflows/1/triggers/manual/paths/invoke?sig={TEAMS_SIG}"))
    monkeypatch.setenv("DISCORD_URL", receiver.url(f"/api/webhooks/1/{DISCORD_TOKEN}"))
    monkeypatch.setenv("TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("API_BASE", receiver.url(""))
    monkeypatch.setenv("NTFY_TOPIC", NTFY_TOPIC)
    monkeypatch.setenv("NTFY_TOKEN", NTFY_TOKEN)
    monkeypatch.setenv("PD_KEY", PD_KEY)
    monkeypatch.setenv("MATRIX_TOKEN", MATRIX_TOKEN)
    host, port = receiver.server.server_address[:2]
    monkeypatch.setenv("APPRISE_URL", f"json://{host}:{port}/{APPRISE_TOKEN}")
    return tmp_path


def test_it_exits_0_when_the_channel_accepted(config_dir: Path, receiver: Receiver,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "audit", "-c", str(config_dir)]) == 0
    out = capsys.readouterr().out
    assert "to audit (webhook) accepted" in out
    body = receiver.seen[0].json()
    assert body["type"] == "alertd.test"
    assert receiver.seen[0].headers["x-token"] == HEADER_VALUE


def test_it_exits_1_when_the_channel_refused(config_dir: Path, receiver: Receiver,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    receiver.answer(Answer(404, "channel_not_found"))
    assert main(["test", "ops-slack", "-c", str(config_dir)]) == 1
    err = capsys.readouterr().err
    assert "test to ops-slack (slack) failed (permanent): HTTP 404: channel_not_found" in err


def test_it_exits_2_for_an_unknown_channel(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "nope", "-c", str(config_dir)]) == 2
    assert "no channel 'nope'" in capsys.readouterr().err


def test_it_exits_1_and_prints_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yaml").write_text("channels:\n  x:\n    type: slak\n", encoding="utf-8")
    assert main(["test", "x", "-c", str(tmp_path)]) == 1
    assert "unknown channel type 'slak'" in capsys.readouterr().err


def test_the_test_message_is_stamped_with_the_commands_clock(config_dir: Path, receiver: Receiver) -> None:
    with freeze_time("2021-05-20T21:00:00Z", real_asyncio=True):
        assert main(["test", "audit", "-c", str(config_dir)]) == 0
    body = receiver.seen[0].json()
    assert body["timestamp"] == "2021-05-20T21:00:00Z"
    assert body["data"]["deadline"]["due"] == "2021-05-21T21:00:00Z"
    assert "Fri 21 May 2021, 17:00 EDT (America/New_York)" in body["data"]["text"]


@pytest.mark.slow
def test_alertd_test_runs_as_a_real_command(config_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-m", "alertd.cli", "test", "stdout", "-c", str(config_dir)],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "to stdout (console) accepted" in proc.stdout
    assert "alert.console" in proc.stdout + proc.stderr


def test_no_secret_reaches_any_log_line_error_or_output(config_dir: Path, receiver: Receiver,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Every channel fails once with a body that echoes the secrets, then succeeds; nothing leaks."""
    echo = " ".join(SECRETS)
    receiver.answer(Answer(400, echo), Answer(500, echo))
    codes = {}
    with structlog.testing.capture_logs() as logs:
        codes["check"] = main(["check", "-c", str(config_dir)])
        codes["plan"] = main(["plan", "-c", str(config_dir), "--from", "2031-01-01", "--until", "2032-01-01"])
        codes["plan-json"] = main(["plan", "-c", str(config_dir), "--from", "2031-01-01", "--json"])
        for channel in ("ops-slack", "audit", "desk-email", "stdout", "ops-slack", "audit"):
            codes.setdefault(channel, []).append(main(["test", channel, "-c", str(config_dir)]))
    captured = capsys.readouterr()
    assert codes == {"check": 0, "plan": 0, "plan-json": 0, "ops-slack": [1, 0], "audit": [1, 0],
                     "desk-email": [1], "stdout": [0]}
    assert "[redacted]" in captured.err  # the echoed secrets were there, and were replaced
    # `alertd test` logs as `alertd run` would: the console channel's event is a JSON line on standard error
    assert any(json.loads(line)["event"] == "alert.console" for line in captured.err.splitlines()
               if line.startswith("{"))
    text = captured.out + captured.err + json.dumps(logs, default=str)
    for secret in SECRETS:
        assert secret not in text


def test_no_hosted_channel_leaks_a_secret_when_the_service_echoes_it(config_dir: Path, receiver: Receiver,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    """Each hosted channel is refused once by a server that echoes every secret in every field its
    sender reads (message, description, error, errors), then accepted; nothing leaks anywhere.
    The window check bites: a sender that cut the body before redacting would show a start."""
    echo = " ".join((*HOSTED_SECRETS, *SECRETS))
    body = json.dumps({"message": echo, "description": echo, "error": echo, "errors": [echo],
                       "errcode": "M_UNKNOWN", "ok": False})
    codes: dict[str, list[int]] = {}
    with structlog.testing.capture_logs() as logs:
        for channel in HOSTED:
            receiver.answer(Answer(500, body))
            for _ in range(2):
                codes.setdefault(channel, []).append(main(["test", channel, "-c", str(config_dir)]))
    captured = capfd.readouterr()
    assert codes == {channel: [1, 0] for channel in HOSTED}
    assert len(receiver.seen) == 2 * len(HOSTED)
    assert "(teams) failed (temporary): HTTP 500" in captured.err
    assert "[redacted]" in captured.err
    text = captured.out + captured.err + json.dumps(logs, default=str)
    for secret in SECRETS:
        assert secret not in text
    for secret in HOSTED_SECRETS:  # not even a part: every 6-character window of each
        assert not [secret[i:i + 6] for i in range(len(secret) - 5) if secret[i:i + 6] in text], secret
@pytest.mark.parametrize(("var", "value", "message"), [
    ("HOOK_URL", "http://127.0.0.1:9/hook\r\nX-Injected: 1", "channel 'audit': url: url contains a control character"),
    ("HOOK_URL", "http://user:pass@127.0.0.1:9/hook", "url must not carry a user name or password"),
    ("HOOK_URL", "http://127.0.0.1:99999/hook", "url: the port is not a number from 1 to 65535"),
    ("HOOK_URL", "http://[v1.x]/hook", "url: an IPvFuture address"),
    ("HOOK_HEADER", "caf\u00e9", "header 'X-Token': the value must be printable ASCII"),
])
def test_what_could_never_be_delivered_is_refused_before_any_attempt(
        config_dir: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *,
        var: str, value: str, message: str) -> None:
    monkeypatch.setenv(var, value)
    assert main(["test", "audit", "-c", str(config_dir)]) == 1
    err = capsys.readouterr().err
    assert f"{config_dir / 'alertd.yaml'}:" in err and message in err, err
    assert "Traceback" not in err and "X-Injected" not in err and "pass@" not in err
    assert receiver.seen == []


def test_a_fifo_as_ca_file_is_refused_instead_of_hanging(config_dir: Path, capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    fifo = tmp_path / "relay-ca.pem"
    os.mkfifo(fifo)
    text = (config_dir / "alertd.yaml").read_text()
    (config_dir / "alertd.yaml").write_text(text.replace("security: none,", f"security: starttls, ca_file: {fifo},"))
    assert main(["test", "desk-email", "-c", str(config_dir)]) == 1
    assert f"ca_file {fifo} is not a regular file" in capsys.readouterr().err
