"""`make bench`: alertd against the naive baseline, side by side, written to bench/RESULTS.md.

    python bench/run.py                 # 1k, 10k, 100k deadlines; 3 runs each; medians
    python bench/run.py --quick         # 1k, 1 run, short windows: a self-check in a few minutes
    python bench/run.py --only check    # just the config-loading figures (check, phases)

Scenarios, one file each (the shared harness is harness.py):
- check    (check.py)    wall time of `alertd check` now and at an early revision, next to a bare
                         PyYAML parse; same outputs before and after; where load_config's time goes.
- ready    (ready.py)    `alertd run` and the baseline: spawn to READY=1, RSS and CPU at READY,
                         CPU over an idle window, reload after one file changed.
- burst    (burst.py)    N alerts due at one instant to a loopback webhook answering in 50 ms.
- http     (http_load.py) a burst's lateness with and without 1,000 hostile HTTP connections.
- compare  (compare.py)  this tree against an earlier revision (`--versions`), interleaved runs of
                         READY/RSS/idle/reload, check and the burst, at the largest size.
A program that never sends READY (or exits) is reported as "not measured", never guessed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package: its files sit side by side

import burst
import check
import compare
import http_load
import ready
from harness import BENCH, SCALE_START, WORK, loadavg, machine

SCENARIOS = ("check", "ready", "burst", "http", "compare")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1k deadlines, 1 run, short windows")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", default=",".join(SCENARIOS),
                   help=f"comma list of: {', '.join(SCENARIOS)} (the others are kept from the last full run)")
    p.add_argument("--idle-window", type=float, default=20.0)
    p.add_argument("--burst", type=int, default=2000)
    p.add_argument("--ready-timeout", type=float, default=60.0, help="seconds alertd gets to send READY")
    p.add_argument("--baseline-timeout", type=float, default=600.0, help="seconds the baseline gets")
    p.add_argument("--versions", default=compare.DEFAULT_VERSIONS,
                   help="compare: LABEL=REV,... ('.' = this tree, uncommitted edits included)")
    p.add_argument("--compare-parts", default=",".join(compare.PARTS),
                   help=f"compare: which of {', '.join(compare.PARTS)} to run (default: all)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.idle_window, args.burst = "1000", 1, 2.0, 200
        args.ready_timeout, args.baseline_timeout = 10.0, 60.0
    out = args.out or (WORK / "RESULTS-quick.md" if args.quick else BENCH / "RESULTS.md")
    store = out.with_suffix(".json") if args.out else (WORK / ("results-quick.json" if args.quick else "results.json"))
    sizes = [int(s) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    if only - set(SCENARIOS):
        p.error(f"--only: unknown scenario(s) {', '.join(sorted(only - set(SCENARIOS)))}")
    compare.parse_versions(args.versions)  # a typo fails now, not after the other scenarios
    WORK.mkdir(exist_ok=True)
    results: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {}
    results = {k: v for k, v in results.items() if k not in only}  # what this run measures is replaced

    def measure(name: str, scenario: Any, **extra: Any) -> None:
        started, load = datetime.now(UTC), loadavg()
        section = scenario()
        results[name] = {"date": f"{started:%Y-%m-%d %H:%M} UTC", "runs": args.runs, "sizes": sizes,
                         "load": f"{load} / {loadavg()}", "command": " ".join(sys.argv[1:]) or "(defaults)",
                         **extra, **section}

    if "check" in only:
        measure("check", lambda: check.run(sizes, args.runs, quick=args.quick))
    if "ready" in only:
        measure("ready", lambda: ready.run(sizes, args.runs, idle_window=args.idle_window,
                                           ready_timeout=args.ready_timeout, baseline_timeout=args.baseline_timeout))
    if "burst" in only:
        measure("burst", lambda: burst.run(args.runs, args.burst, quick=args.quick, ready_timeout=args.ready_timeout,
                                           baseline_timeout=args.baseline_timeout))
    if "http" in only:
        measure("http", lambda: http_load.run(args.runs, http_load.BURST))
    if "compare" in only:
        measure("compare", lambda: compare.run(args.versions, max(sizes), args.runs, burst=args.burst,
                                               idle_window=args.idle_window, ready_timeout=args.ready_timeout,
                                               quick=args.quick, parts=tuple(args.compare_parts.split(","))))
    store.write_text(json.dumps(results, indent=1), encoding="utf-8")
    report = render(results)
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}")
    return 0


def render(results: dict[str, Any]) -> str:
    m = machine()
    lines = [
        "# alertd benchmark results",
        "",
        "Written by `bench/run.py` (`make bench`); do not edit by hand.",
        "",
        f"- machine: {m['nproc']} cores, {m['cpu']}; Python {m['python']}; other work was running on it too "
        "(see each section's load average)",
        f"- configs: bench/gen.py, N deadlines x 5 leads over a year from {SCALE_START}, 8 zones, 1,000 deadlines"
        " per file, one webhook channel",
        "",
    ]
    notes: list[str] = []
    if "check" in results:
        lines += check.render(results["check"])
    for name, scenario in (("ready", ready), ("burst", burst), ("http", http_load), ("compare", compare)):
        if name in results:
            more, why = scenario.render(results[name])
            lines += more
            notes += why
    if notes:
        lines += ["## Not measured, and why", "", *dict.fromkeys(notes), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
