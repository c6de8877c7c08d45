"""What the commands print for a person: usage errors that name the culprit under the right usage,
text from config files, file names and receivers that cannot act on the terminal, whole seconds,
and `alertd test` logging the way `alertd run` does."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from freezegun import freeze_time

from alertd.cli import main
from alertd.cli.status import render
from alertd.core.display import printable

ROOT = Path(__file__).resolve().parents[2]


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    """The standard error lines of a command line that argparse refuses (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    assert exc.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(("argv", "usage", "error"), [
    (["--bogus"], "usage: alertd [-h] [--version] COMMAND ...", "alertd: error: unrecognized arguments: --bogus"),
    ([], "usage: alertd [-h] [--version] COMMAND ...",
     "alertd: error: the following arguments are required: COMMAND (one of check, plan, run, test, ics, status, "
     "demo, ack, snooze, done, reopen)"),
    (["frobnicate"], "usage: alertd [-h] [--version] COMMAND ...", "alertd: error: argument COMMAND: invalid choice:"),
    (["plan", "--bogus"], "usage: alertd plan [-h] [-c DIR] [--from T] [--until T] [--json]",
     "alertd plan: error: unrecognized arguments: --bogus"),
    (["check", "-c", "config", "--json"], "usage: alertd check [-h] [-c DIR]",
     "alertd check: error: unrecognized arguments: --json"),
    (["test", "stdout", "extra"], "usage: alertd test [-h] [-c DIR] CHANNEL",
     "alertd test: error: unrecognized arguments: extra"),
    (["test"], "usage: alertd test [-h] [-c DIR] CHANNEL",
     "alertd test: error: the following arguments are required: CHANNEL"),
    (["status", "-n", "many"], "usage: alertd status [-h] [-c DIR] [--json] [-n N] [--url URL] [ID ...]",
     "alertd status: error: argument -n/--limit: invalid int value: 'many'"),
])
def test_a_usage_error_names_the_argument_under_the_commands_usage(capsys, argv: list[str], usage: str,
                                                                     error: str) -> None:
    lines = usage_error(capsys, *argv)
    assert lines[0] == usage
    assert lines[-1].startswith(error)


@pytest.mark.parametrize(("argv", "usage", "error"), [
    (["plan", "-c", "config", "--from", "yesterday"], "usage: alertd plan ",
     "alertd plan: error: --from 'yesterday' is not an RFC 3339 instant (2021-05-14T00:00:00Z) or a date"),
    (["status", "-c", "config", "-n", "0"], "usage: alertd status ",
     "alertd status: error: --limit 0 must be from 1 to 100,000"),
    (["test", "nowhere", "-c", "config"], "usage: alertd test ",
     "alertd test: error: no channel 'nowhere' in config (defined: stdout)"),
])
def test_a_bad_value_found_by_the_command_shows_the_commands_usage(capsys, monkeypatch, argv: list[str], usage: str,
                                                                   error: str) -> None:
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(usage)
    assert lines[-1] == error


@pytest.mark.parametrize(("raw", "shown"), [
    ("plain, ünïcödé and emoji 😀‍🔥", "plain, ünïcödé and emoji 😀‍🔥"),
    ("two\r\nlines\n", "two\\r\\nlines\\n"),
    ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),
    ("tab\there\x7f\x85", "tab\\there\\x7f\\x85"),
    ("abc\u202edcba\u2066x\u2069 \u2028", "abc\\u202edcba\\u2066x\\u2069 \\u2028"),
])
def test_printable_escapes_what_a_terminal_would_act_on(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_check_escapes_control_characters_from_titles_and_file_names(write_config, capsys) -> None:
    name = "evil\x1b[31m\nname.yaml"
    config = write_config({name: (
        'channels: {c: {type: console}}\n'
        'deadlines:\n'
        '  - {id: d, title: "Pay\\r\\nd: a fake deadline\\u001b[2J\\u202eevil", due: "2021-05-21", channels: [c]}\n'
    )})
    code = main(["check", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines()[0] == "d: Pay\\r\\nd: a fake deadline\\x1b[2J\\u202eevil"
    assert err == (f"{config}/evil\\x1b[31m\\nname.yaml:3: warning: deadline 'd' is already past "
                   "(2021-05-22T00:00:00Z)\n")
    for text in (out, err):
        assert not any(c in text for c in "\r\x1b\u202e")


def test_an_unknown_deadline_names_a_config_directory_with_control_characters_escaped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`ack` printed the config directory raw in 'no deadline ... in DIR': an ESC reached the terminal."""
    config = tmp_path / "conf\x1b[2Jig"
    config.mkdir()
    (config / "a.yaml").write_text("channels: {s: {type: console}}\n"
                                   "deadlines: [{id: x, title: T, due: 2031-01-01, channels: [s]}]\n")
    monkeypatch.setenv("ALERTD_STATE_DIR", str(tmp_path / "state"))
    assert main(["ack", "nope", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"in {tmp_path}/conf\\x1b[2Jig" in err
    assert "\x1b" not in err


def test_config_errors_escape_control_characters_in_file_names(write_config, capsys) -> None:
    config = write_config({"bad\x1b[2J\rname.yaml": "deadlines: [{id: x}]\n"})
    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{config}/bad\\x1b[2J\\rname.yaml:1: deadline 'x': title: missing required key" in err.splitlines()
    assert "\x1b" not in err and "\r" not in err


def test_status_text_escapes_a_receivers_error_and_shows_clock_readings_in_whole_seconds() -> None:
    row = {"deadline": "d", "lead": "PT0S", "fire_at": "2026-12-02T04:47:48Z", "channels": ["hook"],
           "state": "pending", "attempts": 2, "next_retry_at": "2026-12-02T04:47:58.250581Z",
           "last_error": "HTTP 500: \x1b[2Jbusy\r\nfailures: none"}
    recent = {"updated_at": "2026-12-02T04:47:51.247421Z", "state": "pending", "reason": None, "lead": "PT0S",
              "deadline": "d", "channel": "hook", "attempts": 2, "last_error": row["last_error"]}
    failed = {**recent, "state": "failed", "reason": "permanent"}
    text = render([row], [recent], [failed], {"pending": 1}, ledger=Path("state\n/ledger.sqlite3"))
    assert text.splitlines() == [
        "ledger state\\n/ledger.sqlite3: 1 pending",
        "",
        "next alerts:",
        "  2026-12-02T04:47:48Z  PT0S     d  -> hook  [retry 3 at 2026-12-02T04:47:58Z; last error: HTTP 500: "
        "\\x1b[2Jbusy\\r\\nfailures: none]",
        "",
        "recent deliveries:",
        "  2026-12-02T04:47:51Z  pending                PT0S     d  -> hook  attempts 2",
        "",
        "failures:",
        "  2026-12-02T04:47:51Z  failed (permanent) after 2 attempts: PT0S d  -> hook",
        "      HTTP 500: \\x1b[2Jbusy\\r\\nfailures: none",
    ]


def test_an_empty_plan_window_is_shown_in_whole_seconds(capsys) -> None:
    with freeze_time("2026-12-02T02:30:42.213247Z"):
        assert main(["plan", "-c", str(ROOT / "config")]) == 0
    assert capsys.readouterr().out == "no alerts from 2026-12-02T02:30:42Z until 2027-01-01T02:30:42Z\n"


def _alertd_test(stderr: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "JOURNAL_"))}
    return subprocess.run([sys.executable, "-m", "alertd.cli", "test", "stdout", "-c", "config"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=stderr, text=True, env={**clean, **env}, timeout=60,
                          check=False)


def test_alertd_test_logs_json_when_standard_error_is_not_a_terminal() -> None:
    result = _alertd_test(subprocess.PIPE, {})
    assert result.returncode == 0, result.stderr
    [event] = [json.loads(line) for line in result.stderr.splitlines()]
    assert event["event"] == "alert.console" and event["channel"] == "stdout"
    assert result.stdout.endswith(" to stdout (console) accepted\n")


@pytest.mark.parametrize(("env", "as_json"), [({}, False), ({"JOURNAL_STREAM": "8:1234"}, True),
                                              ({"ALERTD_LOG_FORMAT": "json"}, True)])
def test_alertd_test_on_a_terminal_logs_like_run(env: dict[str, str], as_json: bool) -> None:
    """Readable lines on a terminal, JSON under journald or when asked for: `alertd run`'s choice."""
    main_fd, term_fd = pty.openpty()
    try:
        result = _alertd_test(term_fd, env)
        os.close(term_fd)
        term_fd = -1
        shown = b""
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main_fd)
        if term_fd != -1:
            os.close(term_fd)
    assert result.returncode == 0
    line = shown.decode().strip()
    assert "alert.console" in line
    assert line.startswith("{") == as_json
