"""The context a file's deadlines are resolved in comes from every other file, however they
write it: defaults and channels in any file and form apply to all; an id used in two files
names both lines; a due written once is one object however many deadlines share it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertd.config import ConfigCache, load_config
from alertd.config.problems import ConfigError

DEADLINES = """\
deadlines:
  - id: leave-by-friday
    title: Diplomats leave
    due: 2031-05-21T09:00
  - id: reply-due
    title: Reply due
    due: 2031-05-22
"""


def outcome(directory: Path, *, fast_yaml: bool = True) -> tuple:
    try:
        config = load_config(directory, env={}, fast_yaml=fast_yaml)
    except ConfigError as exc:
        return ("error", [str(p) for p in exc.problems])
    return ("ok", [(d, str(d.source)) for d in config.deadlines], [str(w) for w in config.warnings])


# Files that set defaults or define channels with no line starting with the key (an indented
# TOML table, YAML explicit keys): a removed optimisation once guessed the context by lines.
DEFAULTS_WITHOUT_A_KEY_LINE = {
    "a.toml": '  [defaults]\n  timezone = "Asia/Tokyo"\n  channels = ["ops"]\n',
    "a.yaml": "? defaults\n: {timezone: Asia/Tokyo, channels: [ops]}\n",
}


@pytest.mark.parametrize("name", sorted(DEFAULTS_WITHOUT_A_KEY_LINE))
def test_defaults_written_in_any_form_apply(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(DEFAULTS_WITHOUT_A_KEY_LINE[name])
    (tmp_path / "b-channels.yaml").write_text("channels:\n  ops:\n    type: console\n")
    (tmp_path / "c-deadlines.yaml").write_text(DEADLINES)
    config = load_config(tmp_path, env={})
    assert [(d.timezone, d.channels) for d in config.deadlines] == [("Asia/Tokyo", ("ops",))] * 2
    assert config.deadlines[0].due == datetime(2031, 5, 21, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert outcome(tmp_path) == outcome(tmp_path, fast_yaml=False)


def test_a_channel_defined_by_an_explicit_key_is_defined(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("? channels\n: {ops: {type: console}}\n")
    (tmp_path / "b.yaml").write_text(DEADLINES.replace("    due: 2031-05-22\n", "    due: 2031-05-22\n"
                                                       "    channels: [ops]\n"))
    (tmp_path / "c.yaml").write_text("defaults:\n  channels: [ops]\n")
    result = outcome(tmp_path)
    assert result[0] == "ok", result
    assert result == outcome(tmp_path, fast_yaml=False)


def test_duplicates_across_files_name_both_lines(tmp_path: Path) -> None:
    (tmp_path / "00.yaml").write_text("defaults:\n  channels: [ops]\nchannels:\n  ops:\n    type: console\n")
    (tmp_path / "d1.yaml").write_text(DEADLINES)
    (tmp_path / "d2.yaml").write_text(DEADLINES.replace("reply-due", "other"))
    result = outcome(tmp_path)
    assert result[0] == "error"
    assert result[1] == [f"{tmp_path / 'd2.yaml'}:2: deadline 'leave-by-friday' is defined twice: here and at "
                         f"{tmp_path / 'd1.yaml'}:2\n  hint: deadline ids must be unique across all config files"]
    assert result == outcome(tmp_path, fast_yaml=False)


def test_a_due_written_once_is_one_object(tmp_path: Path) -> None:
    (tmp_path / "00.yaml").write_text("defaults:\n  channels: [ops]\nchannels:\n  ops:\n    type: console\n")
    (tmp_path / "d1.yaml").write_text(DEADLINES + "  - id: same-due\n    title: Same\n    due: 2031-05-22\n")
    deadlines = load_config(tmp_path, env={}, cache=ConfigCache()).deadlines
    assert [d.id for d in deadlines] == ["leave-by-friday", "reply-due", "same-due"]
    assert deadlines[1].written is deadlines[2].written  # one due text, one zone
    assert deadlines[0].written is not deadlines[1].written
