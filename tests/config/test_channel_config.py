"""The hosted services' channel settings: every mistake is a `PATH:LINE: message` from `alertd check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from alertd.cli import main

DEADLINE = """
deadlines:
  - id: x
    title: X
    due: 2031-05-21
    channels: [c]
"""


def check(tmp_path: Path, channel: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp_path / "a.yaml").write_text("channels:\n  c:\n" + channel + DEADLINE, encoding="utf-8")
    code = main(["check", "-c", str(tmp_path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


@pytest.mark.parametrize(("channel", "expected"), [
    pytest.param("    type: teams\n", "a.yaml:2: channel 'c': url: missing required key", id="teams-missing-url"),
    pytest.param("    type: teams\n    url: https://x.example/w\n    secret: y\n",
                 "a.yaml:5: channel 'c': secret: unknown key 'secret'", id="teams-unknown-key"),
    pytest.param("    type: discord\n    url: ftp://discord.example/x\n",
                 "a.yaml:4: channel 'c': url: url must be an http:// or https:// URL", id="discord-scheme"),
    pytest.param("    type: telegram\n    chat_id: '-100123'\n    tokn: x\n",
                 "a.yaml:5: channel 'c': tokn: unknown key 'tokn'\n  hint: did you mean 'token'?",
                 id="telegram-typo"),
    pytest.param("    type: telegram\n    token: not-a-token\n    chat_id: '-100'\n",
                 "a.yaml:4: channel 'c': token: token must be a bot token as @BotFather gives it",
                 id="telegram-token"),
    pytest.param("    type: telegram\n    token: '1:AAAAAAAAAAAAAAAAAAAAAAAA'\n    chat_id: desk\n",
                 "a.yaml:5: channel 'c': chat_id: chat_id 'desk' must be a chat's number", id="telegram-chat"),
    pytest.param("    type: ntfy\n    topic: has space\n",
                 "a.yaml:4: channel 'c': topic: topic must be 1-64 letters", id="ntfy-topic"),
    pytest.param("    type: ntfy\n    topic: t\n    sever: https://ntfy.example.org\n",
                 "a.yaml:5: channel 'c': sever: unknown key 'sever'\n  hint: did you mean 'server'?", id="ntfy-typo"),
    pytest.param("    type: ntfy\n    topic: t\n    server: https://ntfy.example.org/?x=1\n",
                 "a.yaml:5: channel 'c': server: 'https://ntfy.example.org/?x=1': a base URL takes no query",
                 id="ntfy-server"),
    pytest.param("    type: teams\n    url: http://teams.example.org/workflows/x\n",
                 "a.yaml:4: channel 'c': url: url must be https://", id="teams-cleartext"),
    pytest.param("    type: matrix\n    homeserver: http://matrix.example.org\n    room: '!r:matrix.org'\n"
                 "    access_token: syt_x\n",
                 "a.yaml:4: channel 'c': homeserver: url must be https://", id="matrix-cleartext"),
    pytest.param("    type: ntfy\n    topic: t\n    server: https://user:pw@ntfy.example.org\n",
                 "a.yaml:5: channel 'c': server: url must not carry a user name or password", id="ntfy-userinfo"),
    pytest.param("    type: pagerduty\n    routing_key: short\n",
                 "a.yaml:4: channel 'c': routing_key: routing_key must be the 32-character Integration Key",
                 id="pagerduty-key"),
    pytest.param("    type: matrix\n    room: '#desk:matrix.org'\n    access_token: syt_x\n",
                 "a.yaml:4: channel 'c': room: room '#desk:matrix.org' is not a room ID", id="matrix-alias"),
    pytest.param("    type: matrix\n    room: '!r:matrix.org'\n",
                 "a.yaml:2: channel 'c': access_token: missing required key", id="matrix-token"),
    pytest.param("    type: apprise\n    urls: []\n",
                 "a.yaml:4: channel 'c': urls: list should have at least 1 item", id="apprise-empty"),
    pytest.param("    type: discrod\n",
                 "a.yaml:3: channel 'c': unknown channel type 'discrod'\n  hint: use one of: apprise, console, "
                 "discord, email, matrix, ntfy, pagerduty, slack, teams, telegram, webhook; did you mean 'discord'?",
                 id="type-typo"),
])
def test_a_bad_channel_is_reported_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       channel: str, expected: str) -> None:
    code, err = check(tmp_path, channel, capsys)
    assert code == 1
    assert expected in err


@pytest.mark.parametrize("channel", [
    "    type: teams\n    url: ${URL}\n",
    "    type: discord\n    url: ${URL}\n",
    "    type: telegram\n    token: ${TOKEN}\n    chat_id: '-1001234567890'\n    api_url: https://tg.example.org\n",
    "    type: ntfy\n    topic: ${TOPIC}\n    token: ${TOKEN}\n    server: https://ntfy.example.org\n",
    "    type: pagerduty\n    routing_key: ${KEY}\n    url: https://events.eu.pagerduty.com/v2/enqueue\n",
    "    type: matrix\n    homeserver: https://matrix.example.org\n    room: '!r:example.org'\n"
    "    access_token: ${TOKEN}\n",
    "    type: apprise\n    urls: ['${URL}']\n",
])
def test_a_good_channel_checks_and_its_secret_never_shows(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, channel: str) -> None:
    secret = "Zq8xW3vN6mK2pL9rT4yUeE1bB2cC3dD4"  # 32 characters: a routing key too
    for name in ("URL", "TOKEN", "TOPIC", "KEY"):
        monkeypatch.setenv(name, secret)
    monkeypatch.setenv("URL", f"https://hooks.example.org/w/{secret}")
    monkeypatch.setenv("TOKEN", f"123456:{secret}")
    if "apprise" in channel:
        pytest.importorskip("apprise")
        monkeypatch.setenv("URL", f"json://hooks.example.org/{secret}")
    code, _ = check(tmp_path, channel, capsys)
    assert code == 0
    main(["plan", "-c", str(tmp_path), "--from", "2031-01-01", "--until", "2032-01-01"])
    out, err = capsys.readouterr()
    assert secret not in out + err
