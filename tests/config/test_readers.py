"""The forked config reader: same parts as one process, in order, and a failing helper is harmless.

Each case runs in a fresh interpreter: the helper forks only when no other thread runs, which a
test process (with servers of other tests in threads) cannot promise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from alertd.config import readers
    from alertd import config
    from alertd.config import load_config
    from alertd.config.problems import ConfigError

    directory, mode = Path(sys.argv[1]), sys.argv[2]
    parent = os.getpid()
    if mode == "helper-fails":
        real = readers.read_part
        def failing(*args, **kwargs):
            if os.getpid() != parent:
                raise RuntimeError("the helper breaks")
            return real(*args, **kwargs)
        readers.read_part = failing

    def outcome(parallel):
        try:
            config = load_config(directory, env={}, parallel=parallel)
        except ConfigError as exc:
            return ["error", [str(p) for p in exc.problems]]
        return ["ok", [[repr(d), str(d.source)] for d in config.deadlines], [str(p) for p in config.warnings]]

    together = outcome(True)
    stats = [readers.Stats.forked, readers.Stats.helper_files, readers.Stats.helper_failed]
    same = together == outcome(False)
    config.SETTLE = False  # every file read whole before any is resolved: the plainest reading
    same = same and together == outcome(False) and together == outcome(True)
    print(json.dumps({"same": same, "stats": stats, "outcome": together[0]}))
""")


def write_config(directory: Path, *, files: int, broken: int | None = None) -> None:
    (directory / "00-channels.yaml").write_text("channels:\n  ops:\n    type: console\n")
    for k in range(files):
        lines = ["deadlines:"]
        for i in range(30):
            due = "2031-03-30T02:30" if i == 3 else f"2031-0{1 + i % 9}-1{k % 10}"  # one in a DST gap: a warning
            lines += [f"  - id: f{k}-{i}", f"    title: File {k} item {i}", f"    due: {due}",
                      "    timezone: Europe/Berlin", "    channels: [ops]"]
        if k == broken:
            lines += ["  - id: f-bad", "    title: broken", "    due: someday"]
        (directory / f"d{k:02d}.yaml").write_text("\n".join(lines) + "\n")


def run(directory: Path, mode: str = "plain") -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(directory), mode], capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout)


def test_the_helper_reads_half_and_the_result_is_one_processs(tmp_path: Path) -> None:
    write_config(tmp_path, files=12)
    result = run(tmp_path)
    assert result["stats"][0] is True and result["stats"][1] > 0, result
    assert result["outcome"] == "ok"
    assert result["same"]


def test_errors_in_the_helpers_half_keep_their_lines(tmp_path: Path) -> None:
    write_config(tmp_path, files=12, broken=11)  # the last file: the helper's half
    result = run(tmp_path)
    assert result["stats"][0] is True, result
    assert result["outcome"] == "error"
    assert result["same"]


@pytest.mark.parametrize("mode", ["helper-fails"])
def test_a_failing_helper_costs_time_not_results(tmp_path: Path, mode: str) -> None:
    write_config(tmp_path, files=12)
    result = run(tmp_path, mode)
    assert result["stats"][0] is False
    assert "status" in result["stats"][2]
    assert result["same"]
