"""Scenario `check`: config loading, timed as `alertd check` on the generated configs.

Wall time of `alertd check` now and at BEFORE_REV (the code before the fast config path), next
to a bare PyYAML C-loader parse of the same files; whether `check` output and `plan --json`
are byte-identical before and after; and where the time of load_config goes (parse, validate,
resolve, check output), measured in one process on this tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import ROOT, WORK, fmt, measured, median, prepare, ratio
from trees import cli_at, same_bytes, timed, tree_at

BEFORE_REV = "d16cb88"  # the foundation commit: config loading before the fast path

PYYAML_ONLY = """
import sys, time, glob, yaml
files = sorted(glob.glob(sys.argv[1] + "/*.yaml"))
t = time.monotonic()
for f in files:
    with open(f) as fh:
        yaml.load(fh, Loader=yaml.CSafeLoader)
print(time.monotonic() - t)
"""

PHASES = """
import gc, io, json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from alertd.cli.check import write_check
from alertd.config import load as C
from alertd.config.filepart import read_part
from alertd.config.resolve import resolve_part
from alertd.config.schema import DeadlineEntry
from alertd.config.secretrefs import expand_tree
from alertd.config.sources import find_config_files, read_source
directory = Path(sys.argv[1])
files = find_config_files(directory)
gc.disable()  # as load_config does
out = {}
t = time.monotonic(); docs = [read_source(p, str(p)) for p in files]; out["parse (fast path)"] = time.monotonic() - t
t = time.monotonic(); [read_source(p, str(p), fast_yaml=False) for p in files]
out["parse (PyYAML path)"] = time.monotonic() - t
t = time.monotonic(); [expand_tree(d.data, {}, set(), []) for d in docs]
out["expand secrets (skipped when no $)"] = time.monotonic() - t
items = [i for d in docs for i in (d.data.get("deadlines") or [])]
t = time.monotonic(); [DeadlineEntry.model_validate(i) for i in items]
out["validate (pydantic)"] = time.monotonic() - t
pool = {}
t = time.monotonic(); parts = [read_part(p, {}, pool) for p in files]
out["read all files (parse + validate)"] = time.monotonic() - t
ctx = C._Merged(directory, parts).context()
t = time.monotonic(); [resolve_part(p, ctx) for p in parts]; out["resolve due and leads"] = time.monotonic() - t
gc.enable(); gc.collect()
t = time.monotonic(); loaded = C.load_config(directory, env={}); out["load_config total"] = time.monotonic() - t
t = time.monotonic(); write_check(loaded, now=datetime.now(UTC), out=io.StringIO(), err=io.StringIO())
out["check output (next alert, formatting)"] = time.monotonic() - t  # on the config just loaded
print(json.dumps(out))
"""


@dataclass
class CheckResult:
    n: int
    before: float | None
    after: float | None
    pyyaml: float | None
    identical: str
    phases: dict[str, float] = field(default_factory=dict)


def measure_check(n: int, config: Path, runs: int, *, compare_plan: bool) -> CheckResult:
    after, before, pyyaml = [], [], []
    identical = "not compared"
    old = tree_at(BEFORE_REV)
    for i in range(runs):
        out_after = WORK / f"check-after-{n}.txt" if i == 0 else None
        t, code = timed(cli_at(None, ["check", "--config", str(config)]), out_after)
        after.append(t if code == 0 else None)
        if old is not None:
            out_before = WORK / f"check-before-{n}.txt" if i == 0 else None
            t, code = timed(cli_at(old, ["check", "--config", str(config)]), out_before)
            before.append(t if code == 0 else None)
        res = subprocess.run([sys.executable, "-c", PYYAML_ONLY, str(config)], capture_output=True, text=True,
                             check=False)
        pyyaml.append(float(res.stdout) if res.returncode == 0 else None)
    if old is not None:
        same_check = same_bytes(WORK / f"check-before-{n}.txt", WORK / f"check-after-{n}.txt")
        identical = f"check output {'identical' if same_check else 'DIFFERS'}"
        if compare_plan:
            window = ["plan", "--json", "--from", "2000-01-01", "--until", "2100-01-01", "--config", str(config)]
            timed(cli_at(old, window), WORK / f"plan-before-{n}.json")
            timed(cli_at(None, window), WORK / f"plan-after-{n}.json")
            same_plan = same_bytes(WORK / f"plan-before-{n}.json", WORK / f"plan-after-{n}.json")
            identical += f"; plan --json {'identical' if same_plan else 'DIFFERS'}"
    res = subprocess.run([sys.executable, "-c", PHASES, str(config)], capture_output=True, text=True, check=False,
                         cwd=ROOT)
    phases = json.loads(res.stdout) if res.returncode == 0 else {}
    return CheckResult(n, median(before), median(after), median(pyyaml), identical, phases)


def run(sizes: list[int], runs: int, *, quick: bool) -> dict[str, Any]:
    rows = []
    for n in sizes:
        print(f"check: {n} deadlines", flush=True)
        rows.append(asdict(measure_check(n, prepare(n) / "alertd", runs, compare_plan=n <= 10000 or not quick)))
    return {"rows": rows}


def render(section: dict[str, Any]) -> list[str]:
    checks = [CheckResult(**row) for row in section["rows"]]
    lines = [
        "## Config loading: `alertd check`",
        "",
        measured(section),
        "",
        f"before = alertd at {BEFORE_REV} (PyYAML compose), after = this tree; PyYAML = a bare "
        "`yaml.load(CSafeLoader)` of the same files, the naive baseline's parser.",
        "",
        "| deadlines | check before | check after | speed-up | PyYAML load alone | same results |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for c in checks:
        lines.append(f"| {c.n:,} | {fmt(c.before)} | {fmt(c.after)} | {ratio(c.before, c.after)} | "
                     f"{fmt(c.pyyaml)} | {c.identical} |")
    lines += ["", "Where the time goes (one run, this tree, in one process; parse and validate with the GC "
              "paused as load_config does):", ""]
    names = list(checks[-1].phases) if checks else []
    lines += ["| phase | " + " | ".join(f"{c.n:,}" for c in checks) + " |",
              "| --- | " + " | ".join("---:" for _ in checks) + " |"]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(fmt(c.phases.get(name)) for c in checks) + " |")
    lines.append("")
    return lines
