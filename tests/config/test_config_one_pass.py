"""One `check` reports every problem of a config: each once, in file and line order, none hiding
another and none caused by another (issue 14: a file with nine problems took four rounds)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from alertd.cli import main

NINE = """
channels:
  stdout:
    type: console
  hook:
    type: webhook
    url: ${ALERTD_TEST_NINE_MISSING}
deadlines:
  - id: report
    title: Report
    due: 2031-02-30
    chanels: [stdout]
  - id: Bad_ID
    title: Bad id
    due: 2031-13-01
    remind: [7 days]
    channels: [stdout]
  - id: zoned
    title: Zoned
    due: 2031-05-21
    timezone: Mars/Olympus
    remind: [1d, -1d]
    channels: [stdot]
  - id: report
    title: Report again
    due: 2031-05-21
    channels: [nowhere]
  - id: secret
    title: ${ALERTD_TEST_NINE_MISSING}
    due: 2031-05-21
    channels: [hook]
"""

# The same mistakes in TOML: the line of a key is known for `key = value` lines.
NINE_TOML = """
[channels.stdout]
type = "console"

[channels.hook]
type = "webhook"
url = "${ALERTD_TEST_NINE_MISSING}"

[[deadlines]]
id = "report"
title = "Report"
due = "2031-02-30"
chanels = ["stdout"]

[[deadlines]]
id = "Bad_ID"
title = "Bad id"
due = "2031-13-01"
remind = ["7 days"]
channels = ["stdout"]

[[deadlines]]
id = "zoned"
title = "Zoned"
due = 2031-05-21
timezone = "Mars/Olympus"
remind = ["1d", "-1d"]
channels = ["stdot"]

[[deadlines]]
id = "report"
title = "Report again"
due = 2031-05-21
channels = ["nowhere"]

[[deadlines]]
id = "secret"
title = "${ALERTD_TEST_NINE_MISSING}"
due = 2031-05-21
channels = ["hook"]
"""

CHANNELS = """
channels:
  stdout:
    type: consol
  Ops:
    type: console
  mail:
    type: email
    to: []
    from: alertd@example.org
    smtp: {host: smtp.example.org, prot: 25, password: "${ALERTD_TEST_NINE_MISSING}"}
  hook:
    type: webhook
    url: ${ALERTD_TEST_NINE_MISSING}
    headers: {Authorization: "Bearer ${ALERTD_TEST_NINE_MISSING}"}
    timeout: 0
deadlines:
  - id: uses-them
    title: Uses every channel
    due: 2031-05-21
    channels: [stdout, Ops, mail, hook, pager]
"""

DEFAULTS = """
defaults:
  timezone: Mars/Olympus
  channels: stdout
  remind: [1d, 1 day]
  colour: red
channels:
  stdout:
    type: console
deadlines:
  - id: relies-on-defaults
    title: Relies on the defaults
    due: 2031-05-32
  - id: own-zone
    title: Its own zone
    due: 2031-05-21
    timezone: Europe/Berlin
    remind: [2d]
  - id: ${ALERTD_TEST_NINE_MISSING}
    title: Its id is missing
    due: ${ALERTD_TEST_NINE_MISSING}
    channels: [stdout, "${ALERTD_TEST_NINE_MISSING}"]
"""

AFTER = """
channels:
  duty:
    type: console
deadlines:
  - id: escalates
    title: Escalates
    due: 2031-05-21
    channels: [duty]
    repeat: 1 hour
    escalate:
      - after: 15m
        channels: [dutty]
    colour: red
  - title: No id
    due: 2031-05-21T25:00
    channels: [duty, duty]
"""


NOT_A_LEAD = "is not a duration: use 0, <n><unit> with units w d h m s (e.g. 7d, 1d12h, 90m) or ISO 8601 (P7D, PT6H)"
MISSING = ("${ALERTD_TEST_NINE_MISSING} is not set: no environment variable ALERTD_TEST_NINE_MISSING and "
           "$CREDENTIALS_DIRECTORY is not set")


def problem_lines(err: str, config: Path) -> list[str]:
    """The problems of `check`'s standard error (hints left out), the directory written DIR."""
    return [line.replace(f"{config}/", "").replace(str(config), "DIR") for line in err.splitlines()
            if not line.startswith("  hint: ")]


@pytest.mark.parametrize(("files", "expected"), [
    pytest.param({"a.yaml": NINE}, [
        f"a.yaml:6: {MISSING}",
        "a.yaml:10: deadline 'report': due '2031-02-30' is not a real date: day is out of range for month",
        "a.yaml:11: deadline 'report': chanels: unknown key 'chanels'",
        "a.yaml:12: deadline #2: id: not a valid id",
        "a.yaml:14: deadline #2: due '2031-13-01' is not a real date: month must be in 1..12",
        f"a.yaml:15: deadline #2: lead '7 days' {NOT_A_LEAD}",
        "a.yaml:20: deadline 'zoned': timezone: unknown time zone 'Mars/Olympus'; use an IANA name like Europe/Moscow",
        "a.yaml:21: deadline 'zoned': lead '-1d' is negative; leads count back from the deadline, use e.g. '1d'",
        "a.yaml:22: deadline 'zoned': channel 'stdot' is not defined",
        "a.yaml:23: deadline 'report' is defined twice: here and at a.yaml:8",
        "a.yaml:26: deadline 'report': channel 'nowhere' is not defined",
        "alertd: 11 errors in DIR",
    ], id="nine-yaml"),
    pytest.param({"a.toml": NINE_TOML}, [
        f"a.toml:6: {MISSING}",
        "a.toml:11: deadline 'report': due '2031-02-30' is not a real date: day is out of range for month",
        "a.toml:12: deadline 'report': chanels: unknown key 'chanels'",
        "a.toml:15: deadline #2: id: not a valid id",
        "a.toml:17: deadline #2: due '2031-13-01' is not a real date: month must be in 1..12",
        f"a.toml:18: deadline #2: lead '7 days' {NOT_A_LEAD}",
        "a.toml:25: deadline 'zoned': timezone: unknown time zone 'Mars/Olympus'; use an IANA name like Europe/Moscow",
        "a.toml:26: deadline 'zoned': lead '-1d' is negative; leads count back from the deadline, use e.g. '1d'",
        "a.toml:27: deadline 'zoned': channel 'stdot' is not defined",
        "a.toml:30: deadline 'report' is defined twice: here and at a.toml:8",
        "a.toml:33: deadline 'report': channel 'nowhere' is not defined",
        "alertd: 11 errors in DIR",
    ], id="nine-toml"),
    pytest.param({"a.yaml": CHANNELS}, [
        "a.yaml:3: channel 'stdout': unknown channel type 'consol'",
        "a.yaml:4: channel name 'Ops' is not valid",
        "a.yaml:8: channel 'mail': to: list should have at least 1 item after validation, not 0",
        f"a.yaml:10: {MISSING}",
        "a.yaml:10: channel 'mail': smtp.prot: unknown key 'prot'",
        "a.yaml:15: channel 'hook': timeout: input should be greater than or equal to 0.1",
        "a.yaml:20: deadline 'uses-them': channel 'pager' is not defined",
        "alertd: 7 errors in DIR",
    ], id="channels"),
    pytest.param({"a.yaml": DEFAULTS}, [
        "a.yaml:2: defaults: timezone: unknown time zone 'Mars/Olympus'; use an IANA name like Europe/Moscow",
        "a.yaml:3: defaults: channels: input should be a valid list",
        f"a.yaml:4: defaults: lead '1 day' {NOT_A_LEAD}",
        "a.yaml:5: defaults: colour: unknown key 'colour'",
        "a.yaml:12: deadline 'relies-on-defaults': due '2031-05-32' is not a real date: day is out of range for month",
        f"a.yaml:18: {MISSING}",
        "alertd: 6 errors in DIR",
    ], id="defaults"),
    pytest.param({"a.yaml": AFTER}, [
        f"a.yaml:9: deadline 'escalates': repeat '1 hour' {NOT_A_LEAD}",
        "a.yaml:12: deadline 'escalates': escalate step 1: channel 'dutty' is not defined",
        "a.yaml:13: deadline 'escalates': colour: unknown key 'colour'",
        "a.yaml:14: deadline #2: id: missing required key",
        "a.yaml:15: deadline #2: due '2031-05-21T25:00' is not a real time: hour must be in 0..23",
        "a.yaml:16: deadline #2: a channel is listed twice",
        "alertd: 6 errors in DIR",
    ], id="after-the-due"),
])
def test_one_check_reports_every_problem(write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, files: dict[str, str],
                                         expected: list[str]) -> None:
    monkeypatch.delenv("ALERTD_TEST_NINE_MISSING", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = write_config(files)
    code = main(["check", "-c", str(config)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert problem_lines(err, config) == expected


def test_the_real_check_command_lists_the_nine_mistakes_at_once(write_config: Callable[..., Path]) -> None:
    """The issue's file, through a real `alertd check` process: every problem, its hint, the count, exit 1."""
    config = write_config({"a.yaml": NINE})
    env = {k: v for k, v in os.environ.items() if k not in ("ALERTD_TEST_NINE_MISSING", "CREDENTIALS_DIRECTORY")}
    done = subprocess.run([sys.executable, "-m", "alertd.cli", "check", "-c", str(config)], capture_output=True,
                          text=True, check=False, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stdout == ""
    a = f"{config}/a.yaml"
    assert done.stderr.splitlines() == [
        f"{a}:6: {MISSING}",
        f"  hint: export the variable, or use LoadCredential= under systemd; also used at {a}:28",
        f"{a}:10: deadline 'report': due '2031-02-30' is not a real date: day is out of range for month",
        f"{a}:11: deadline 'report': chanels: unknown key 'chanels'",
        "  hint: did you mean 'channels'?",
        f"{a}:12: deadline #2: id: not a valid id",
        "  hint: use 1-128 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        f"{a}:14: deadline #2: due '2031-13-01' is not a real date: month must be in 1..12",
        f"{a}:15: deadline #2: lead '7 days' {NOT_A_LEAD}",
        f"{a}:20: deadline 'zoned': timezone: unknown time zone 'Mars/Olympus'; use an IANA name like Europe/Moscow",
        f"{a}:21: deadline 'zoned': lead '-1d' is negative; leads count back from the deadline, use e.g. '1d'",
        f"{a}:22: deadline 'zoned': channel 'stdot' is not defined",
        "  hint: did you mean 'stdout'?",
        f"{a}:23: deadline 'report' is defined twice: here and at {a}:8",
        "  hint: deadline ids must be unique across all config files",
        f"{a}:26: deadline 'report': channel 'nowhere' is not defined",
        "  hint: defined channels: hook, stdout",
        f"alertd: 11 errors in {config}",
    ]


def test_files_are_reported_in_path_order_with_every_problem_of_each(write_config: Callable[..., Path],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Across files: a file that cannot be parsed hides nothing of the others; a duplicate id, an
    undefined channel and a field error come in the same pass."""
    config = write_config({
        "a.yaml": "channels:\n  stdout:\n    type: console\n"
                  "deadlines:\n  - id: first\n    title: First\n    due: 2031-05-21\n    channels: [stdout]\n",
        "b/broken.yaml": "deadlines:\n  - id: [unclosed\n",
        "b/more.toml": '[[deadlines]]\nid = "first"\ntitle = "Again"\ndue = "2031-05-21"\nremind = ["1x"]\n'
                       'channels = ["stdout", "pager"]\ntags = "urgent"\n',
        "c.yml": "deadlines:\n  - id: third\n    title: ''\n    due: 2031-06-31\n    channels: [stdout]\n",
    })
    assert main(["check", "-c", str(config)]) == 1
    assert problem_lines(capsys.readouterr().err, config) == [
        "b/broken.yaml:3: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence that starts "
        "at line 2)",
        "b/more.toml:2: deadline 'first' is defined twice: here and at a.yaml:5",
        "b/more.toml:5: deadline 'first': lead '1x' is not a duration: use 0, <n><unit> with units w d h m s "
        "(e.g. 7d, 1d12h, 90m) or ISO 8601 (P7D, PT6H)",
        "b/more.toml:6: deadline 'first': channel 'pager' is not defined",
        "b/more.toml:7: deadline 'first': tags: input should be a valid list",
        "c.yml:3: deadline 'third': title: string should have at least 1 character",
        "c.yml:4: deadline 'third': due '2031-06-31' is not a real date: day is out of range for month",
        "alertd: 7 errors in DIR",
    ]


def test_problems_come_in_the_order_the_files_are_read(write_config: Callable[..., Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`a/b.yaml` is read before `a.yaml` (sorted paths, as `check` lists deadlines): its
    problems come first, and the repeated id is the one in `a.yaml`."""
    entry = "deadlines:\n  - id: same\n    title: T\n    due: 2031-05-21\n    channels: [nowhere]\n"
    config = write_config({"a.yaml": entry, "a/b.yaml": entry})
    assert main(["check", "-c", str(config)]) == 1
    assert problem_lines(capsys.readouterr().err, config) == [
        "a/b.yaml:5: deadline 'same': channel 'nowhere' is not defined",
        "a.yaml:2: deadline 'same' is defined twice: here and at a/b.yaml:2",
        "a.yaml:5: deadline 'same': channel 'nowhere' is not defined",
        "alertd: 3 errors in DIR",
    ]


def test_an_empty_default_leaves_it_unset(write_config: Callable[..., Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`remind:` with nothing under defaults was a crash ('this is a bug in alertd'); it means unset."""
    config = write_config({"a.yaml": "channels:\n  stdout: {type: console}\ndefaults:\n  remind:\n  timezone:\n"
                                     "  channels:\ndeadlines:\n"
                                     "  - {id: a, title: T, due: 2031-01-01, channels: [stdout]}\n"})
    assert main(["check", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "due   Wed 1 Jan 2031, 24:00 UTC (UTC) = 2031-01-02T00:00:00Z" in out
    assert "next  P1D at 2031-01-01T00:00:00Z" in out  # the built-in [1d, 1h, 0]


def test_a_misspelt_default_is_one_error_not_one_per_deadline(write_config: Callable[..., Path],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`chanels:` under defaults stands for `channels`: the deadlines relying on it are not each
    told they have no channels."""
    config = write_config({"a.yaml": "defaults:\n  chanels: [stdout]\nchannels:\n  stdout: {type: console}\n"
                                     "deadlines:\n  - {id: a, title: A, due: 2031-01-01}\n"
                                     "  - {id: b, title: B, due: 2031-01-01}\n"})
    assert main(["check", "-c", str(config)]) == 1
    assert problem_lines(capsys.readouterr().err, config) == [
        "a.yaml:2: defaults: chanels: unknown key 'chanels'",
        "alertd: 1 error in DIR",
    ]
