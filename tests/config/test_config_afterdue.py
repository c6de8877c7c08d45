"""status, repeat, repeat_for and escalate: in deadlines and defaults, checked with file:line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from alertd.cli import main
from alertd.config import ConfigError, load_config
from alertd.config.load import Config
from alertd.core.model import AfterDue, Step

CHANNELS = """
channels:
  ops: {type: console}
  duty: {type: console}
  boss: {type: console}
"""


def deadline(extra: str = "", id_: str = "x") -> str:
    return f"  - id: {id_}\n    title: T\n    due: 2030-05-21\n    channels: [ops]\n{extra}"


def load(write_config: Callable[..., Path], text: str) -> Config:
    return load_config(write_config({"a.yaml": text}), env={})


def problems(write_config: Callable[..., Path], text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(write_config, text)
    return [str(p).rpartition("/")[2] for p in info.value.problems]


def test_a_deadline_says_what_happens_after_its_due(write_config) -> None:
    config = load(write_config, CHANNELS + "deadlines:\n" + deadline(
        "    repeat: 30m\n    repeat_for: 2h\n    escalate:\n      - after: 15m\n        channels: [duty]\n"
        "      - after: PT1H\n        channels: [boss, ops]\n"))
    [d] = config.deadlines
    assert d.after == AfterDue(1800, 7200, (Step(900, ("duty",)), Step(3600, ("boss", "ops"))))
    assert d.status == "open"


def test_defaults_give_every_deadline_the_same_settings_and_a_deadline_overrides_them(write_config) -> None:
    config = load(write_config, CHANNELS + "defaults:\n  repeat: 1h\n  escalate: [{after: 2h, channels: [boss]}]\n"
                  "  status: open\ndeadlines:\n" + deadline(id_="a") + deadline(id_="b")
                  + deadline("    repeat: 0\n    escalate: []\n", id_="c")
                  + deadline("    repeat: 2s\n    repeat_for: 1m\n    status: done\n", id_="d"))
    a, b, c, d = config.deadlines
    assert a.after == AfterDue(3600, 86400, (Step(7200, ("boss",)),))  # repeat_for defaults to a day
    assert a.after is b.after  # shared, not one object per deadline
    assert c.after is None
    assert (d.after, d.status) == (AfterDue(2, 60, (Step(7200, ("boss",)),)), "done")


def test_status_cancelled_and_the_durations_are_elapsed_seconds(write_config) -> None:
    config = load(write_config, CHANNELS + "deadlines:\n" + deadline("    status: cancelled\n    repeat: 1d\n"
                                                                     "    repeat_for: 30d\n"))
    [d] = config.deadlines
    assert (d.status, d.after) == ("cancelled", AfterDue(86400, 30 * 86400, ()))


@pytest.mark.parametrize(("extra", "expected"), [
    pytest.param("    status: finished\n", "a.yaml:10: deadline 'x': status: input should be 'open', 'done' or "
                 "'cancelled'", id="status"),
    pytest.param("    repeat: soon\n", "a.yaml:10: deadline 'x': repeat 'soon' is not a duration", id="repeat"),
    pytest.param("    repeat: -5m\n", "a.yaml:10: deadline 'x': repeat '-5m' is negative", id="negative-repeat"),
    pytest.param("    repeat: 1h\n    repeat_for: 31d\n", "a.yaml:11: deadline 'x': repeat_for '31d' must be longer "
                 "than 0 and at most 30 days", id="repeat-for-over-30-days"),
    pytest.param("    repeat: 1h\n    repeat_for: 0\n", "a.yaml:11: deadline 'x': repeat_for '0' must be longer",
                 id="repeat-for-zero"),
    pytest.param("    escalate:\n      - after: 0\n        channels: [duty]\n",
                 "a.yaml:11: deadline 'x': escalate step 1: after '0' must be longer than 0", id="after-zero"),
    pytest.param("    escalate:\n      - after: -1h\n        channels: [duty]\n",
                 "a.yaml:11: deadline 'x': after '-1h' is negative", id="after-negative"),
    pytest.param("    escalate:\n      - after: 1h\n        channels: [dutty]\n",
                 "a.yaml:12: deadline 'x': escalate step 1: channel 'dutty' is not defined", id="unknown-channel"),
    pytest.param("    escalate:\n      - after: 1h\n        channels: [duty]\n      - after: 60m\n"
                 "        channels: [boss]\n", "a.yaml:13: deadline 'x': escalate steps 1 and 2 come at the same time",
                 id="two-steps-at-once"),
    pytest.param("    escalate:\n      - after: 1h\n        channels: []\n",
                 "a.yaml:12: deadline 'x': escalate.0.channels: list should have at least 1 item", id="no-channels"),
    pytest.param("    escalate:\n      - after: 1h\n        channel: [duty]\n",
                 "a.yaml:12: deadline 'x': escalate.0.channel: unknown key 'channel'", id="step-typo"),
])
def test_bad_settings_are_errors_with_their_line(write_config, extra: str, expected: str) -> None:
    found = problems(write_config, CHANNELS + "deadlines:\n" + deadline(extra))
    assert any(p.startswith(expected) for p in found), found


def test_bad_defaults_are_reported_at_the_defaults(write_config) -> None:
    found = problems(write_config, CHANNELS + "defaults:\n  repeat: 1h\n  escalate:\n    - after: 1h\n"
                     "      channels: [nobody]\ndeadlines:\n" + deadline())
    assert found == ["a.yaml:9: defaults: escalate step 1: channel 'nobody' is not defined\n"
                     "  hint: defined channels: boss, duty, ops"]


def test_check_warns_about_a_repeat_under_a_minute_once_where_it_is_written(write_config, capsys) -> None:
    config = write_config({"a.yaml": CHANNELS + "defaults:\n  repeat: 2s\ndeadlines:\n" + deadline(id_="a")
                           + deadline(id_="b") + deadline("    repeat: 10s\n", id_="c")
                           + deadline("    repeat_for: 1h\n    repeat: 0\n", id_="d")})
    assert main(["check", "-c", str(config)]) == 0
    err = capsys.readouterr().err.replace(str(config) + "/", "")
    assert err.count("under a minute") == 2, err
    assert "a.yaml:6: warning: defaults: repeat 2 s is under a minute" in err
    assert "a.yaml:20: warning: deadline 'c': repeat 10 s is under a minute" in err
    assert "a.yaml:25: warning: deadline 'd': repeat_for has no effect without repeat" in err


def test_toml_takes_the_same_settings(write_config) -> None:
    config = load_config(write_config({"a.toml": """
        [channels.ops]
        type = "console"
        [channels.duty]
        type = "console"

        [[deadlines]]
        id = "x"
        title = "T"
        due = 2030-05-21
        channels = ["ops"]
        repeat = "30m"
        escalate = [{after = "15m", channels = ["duty"]}]
        """}), env={})
    assert config.deadlines[0].after == AfterDue(1800, 86400, (Step(900, ("duty",)),))


def test_the_forked_reader_keeps_the_settings(write_config) -> None:
    """Large configs are read half in a helper process whose deadlines come back pickled as columns."""
    files = {"channels.yaml": CHANNELS + "defaults:\n  repeat: 1h\n"}
    for i in range(4):
        files[f"d{i}.yaml"] = "deadlines:\n" + deadline(id_=f"a{i}") + deadline(
            "    status: done\n    escalate: [{after: 5m, channels: [duty]}]\n", id_=f"b{i}")
    config_dir = write_config(files)
    serial = load_config(config_dir, env={}, parallel=False).deadlines
    forked = load_config(config_dir, env={}, parallel=True).deadlines
    assert [(d.id, d.status, d.after) for d in forked] == [(d.id, d.status, d.after) for d in serial]
    assert {d.status for d in forked} == {"open", "done"} and all(d.after is not None for d in forked)
