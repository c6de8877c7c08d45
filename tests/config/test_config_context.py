"""Each file is resolved as soon as it is read, against the defaults and channels of the files
that look like they set them (a guess by their lines); where the guess is wrong, the files are
read again. Either way the result is the plain reading's: every file whole, then resolved."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alertd import config as config_module
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


def outcome(directory: Path, cache: ConfigCache | None = None) -> tuple:
    try:
        config = load_config(directory, env={}, cache=cache)
    except ConfigError as exc:
        return ("error", [str(p) for p in exc.problems])
    return ("ok", [(d, str(d.source)) for d in config.deadlines], [str(w) for w in config.warnings])


def plain(directory: Path) -> tuple:
    config_module.SETTLE = False
    try:
        return outcome(directory)
    finally:
        config_module.SETTLE = True


# Files that set defaults or define channels with no line starting with the key: valid, but
# unseen by the guess (an indented TOML table, YAML explicit keys).
UNSEEN_DEFAULTS = {
    "a.toml": '  [defaults]\n  timezone = "Asia/Tokyo"\n  channels = ["ops"]\n',
    "a.yaml": "? defaults\n: {timezone: Asia/Tokyo, channels: [ops]}\n",
}


@pytest.mark.parametrize("name", sorted(UNSEEN_DEFAULTS))
def test_defaults_the_guess_misses_still_apply(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(UNSEEN_DEFAULTS[name])
    (tmp_path / "b-channels.yaml").write_text("channels:\n  ops:\n    type: console\n")
    (tmp_path / "c-deadlines.yaml").write_text(DEADLINES)
    config = load_config(tmp_path, env={})
    assert [(d.timezone, d.channels) for d in config.deadlines] == [("Asia/Tokyo", ("ops",))] * 2
    assert config.deadlines[0].due == datetime(2031, 5, 21, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert outcome(tmp_path) == plain(tmp_path)


def test_a_channel_the_guess_misses_is_defined(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("? channels\n: {ops: {type: console}}\n")
    (tmp_path / "b.yaml").write_text(DEADLINES.replace("    due: 2031-05-22\n", "    due: 2031-05-22\n"
                                                       "    channels: [ops]\n"))
    (tmp_path / "c.yaml").write_text("defaults:\n  channels: [ops]\n")
    result = outcome(tmp_path)
    assert result[0] == "ok", result
    assert result == plain(tmp_path)


def test_duplicates_across_settled_files_name_both_lines(tmp_path: Path) -> None:
    (tmp_path / "00.yaml").write_text("defaults:\n  channels: [ops]\nchannels:\n  ops:\n    type: console\n")
    (tmp_path / "d1.yaml").write_text(DEADLINES)
    (tmp_path / "d2.yaml").write_text(DEADLINES.replace("reply-due", "other"))
    result = outcome(tmp_path)
    assert result[0] == "error"
    assert result[1] == [f"{tmp_path / 'd2.yaml'}:2: deadline 'leave-by-friday' is defined twice: here and at "
                         f"{tmp_path / 'd1.yaml'}:2\n  hint: deadline ids must be unique across all config files"]
    assert result == plain(tmp_path)


def test_a_loaded_config_keeps_no_entries_only_ids_and_deadlines(tmp_path: Path) -> None:
    (tmp_path / "00.yaml").write_text("defaults:\n  channels: [ops]\nchannels:\n  ops:\n    type: console\n")
    (tmp_path / "d1.yaml").write_text(DEADLINES)
    cache = ConfigCache()
    config = load_config(tmp_path, env={}, cache=cache)
    part = cache.parts[tmp_path / "d1.yaml"]
    assert part.settled and part.entries == []
    assert part.ids == ("leave-by-friday", "reply-due")
    assert part.resolved is not None and part.resolved[1].deadlines == config.deadlines


def test_resolved_deadlines_cross_a_pipe_whole(tmp_path: Path) -> None:
    """What the forked reader sends back: equal deadlines, same sources, one due object per due."""
    import pickle  # noqa: PLC0415 - only this test pickles

    (tmp_path / "00.yaml").write_text("defaults:\n  channels: [ops]\nchannels:\n  ops:\n    type: console\n")
    (tmp_path / "d1.yaml").write_text(DEADLINES + "  - id: same-due\n    title: Same\n    due: 2031-05-22\n"
                                      "    tags: [x]\n    notes: n\n")
    cache = ConfigCache()
    load_config(tmp_path, env={}, cache=cache)
    resolved = cache.parts[tmp_path / "d1.yaml"].resolved[1]
    back = pickle.loads(pickle.dumps(resolved, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == resolved
    assert [str(d.source) for d in back.deadlines] == [str(d.source) for d in resolved.deadlines]
    assert resolved.deadlines[1].written is resolved.deadlines[2].written  # one due text, one zone
    assert back.deadlines[1].written is back.deadlines[2].written
    empty = type(resolved)((), ())
    assert pickle.loads(pickle.dumps(empty)) == empty
