"""Scenario `compare`: this tree against alertd at an earlier revision, side by side in one run.

Each version is run from its own copy of the `alertd` package (trees.tree_at; "." is this
tree) with the same interpreter and boot, on the same generated config. The runs interleave,
A B A B A B: the machine is shared with other work, and interleaving spreads its load over both
versions instead of giving one a quiet hour. Per round and version: READY / RSS / CPU / idle /
reload (as ready.py), `alertd check` wall time, and the burst (as burst.py). The `check`
outputs and `plan --json` of the versions are compared byte for byte.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from burst import measure_burst
from harness import WORK, Run, fmt, loadavg, measured, median, prepare
from ready import alertd_copy, measure_ready_idle
from receiver import Receiver
from trees import cli_at, same_bytes, timed, tree_at

# the restructure into layered packages (issue 12): ddfb0f6 is the last commit before the package move
DEFAULT_VERSIONS = "before=ddfb0f6,after=."


def parse_versions(spec: str) -> list[tuple[str, str]]:
    """`before=REV,after=.` -> [("before", "REV"), ("after", ".")]: labels and revisions, in order."""
    out = []
    for item in spec.split(","):
        label, sep, rev = item.partition("=")
        if not sep or not label.strip() or not rev.strip():
            raise ValueError(f"{item!r} is not LABEL=REV")
        out.append((label.strip(), rev.strip()))
    if len({label for label, _ in out}) != len(out):
        raise ValueError(f"labels repeat in {spec!r}")
    return out


PARTS = ("ready", "check", "burst")


def run(spec: str, n: int, rounds: int, *, burst: int, idle_window: float, ready_timeout: float,
        quick: bool, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    versions = [(label, rev, tree_at(rev)) for label, rev in parse_versions(spec)]
    config = prepare(n)
    done: list[dict[str, Any]] = []
    notes: list[str] = [f"- compare, {label}: git cannot give revision {rev}" for label, rev, tree in versions
                        if tree is None]
    versions = [(label, rev, tree) for label, rev, tree in versions if tree is not None]

    def argv_run(tree: Path) -> Any:
        return lambda cfg: cli_at(tree, ["run", "--config", str(cfg)])

    with Receiver(delay=0.05) as receiver:
        for i in range(rounds):
            row: dict[str, Any] = {"load": loadavg(), "ready": {}, "check": {}, "burst": {}}
            for label, _, tree in versions if "ready" in parts else ():
                print(f"compare: round {i + 1}, {label}: READY/idle/reload at {n}", flush=True)
                row["ready"][label] = asdict(measure_ready_idle(alertd_copy(config / "alertd", argv_run(tree)),
                                                                timeout=ready_timeout, idle_window=idle_window,
                                                                reload=True))
            for label, _, tree in versions if "check" in parts else ():
                print(f"compare: round {i + 1}, {label}: check at {n}", flush=True)
                out = WORK / f"compare-check-{label}-{n}.txt" if i == 0 else None
                t, code = timed(cli_at(tree, ["check", "--config", str(config / "alertd")]), out)
                row["check"][label] = t if code == 0 else None
            for label, _, tree in versions if "burst" in parts else ():
                print(f"compare: round {i + 1}, {label}: burst of {burst}", flush=True)
                row["burst"][label] = asdict(measure_burst(
                    f"compare-{label}", lambda d, t=tree: argv_run(t)(d / "alertd"), burst, receiver,
                    lead=10.0 if quick else 20.0, ready_timeout=ready_timeout, settle=30.0 if quick else 60.0))
            done.append(row)
    identical = "not compared"
    if len(versions) >= 2 and "check" in parts:
        (first, _, first_tree), others = versions[0], versions[1:]
        window = ["plan", "--json", "--from", "2000-01-01", "--until", "2100-01-01", "--config",
                  str(config / "alertd")]
        timed(cli_at(first_tree, window), WORK / f"compare-plan-{first}-{n}.json")
        words = []
        for label, _, tree in others:
            timed(cli_at(tree, window), WORK / f"compare-plan-{label}-{n}.json")
            same_check = same_bytes(WORK / f"compare-check-{first}-{n}.txt", WORK / f"compare-check-{label}-{n}.txt")
            same_plan = same_bytes(WORK / f"compare-plan-{first}-{n}.json", WORK / f"compare-plan-{label}-{n}.json")
            words.append(f"{label} vs {first}: check output {'identical' if same_check else 'DIFFERS'}, "
                         f"plan --json {'identical' if same_plan else 'DIFFERS'}")
        identical = "; ".join(words)
    for row in done:
        for what in ("ready", "burst"):
            notes += [f"- compare, {what}, {label}: {r['note']}" for label, r in row[what].items() if r["note"]]
    return {"versions": [[label, rev] for label, rev, _ in versions], "size": n, "burst": burst,
            "idle_window": idle_window, "rounds": done, "identical": identical, "notes": notes}


FIGURES = (  # label, where, key, unit, goal; the goal's rule is in `held`
    ("READY", "ready", "ready", "s", "within 10% of before"),
    ("`alertd check`", "check", None, "s", "within 10% of before"),
    ("RSS at READY", "ready", "rss", "MB", "<= 200 MB"),
    ("CPU to READY", "ready", "cpu_ready", "s", ""),
    ("idle CPU", "ready", "idle_cpu", "s", "no worse"),
    ("reload (one file changed)", "ready", "reload", "s", ""),
    ("burst: first delivery", "burst", "first", "ms", "no worse"),
    ("burst: all delivered within", "burst", "all_within", "s", "no worse"),
)


def values(section: dict[str, Any], label: str, where: str, key: str | None) -> list[float | None]:
    out = []
    for row in section["rounds"]:
        got = row[where].get(label)
        if where == "check" or got is None:
            out.append(got)
        elif where == "burst":
            out.append(Run(**got).burst.get(key))
        else:
            out.append(getattr(Run(**got), key))
    return out


def held(goal: str, before: list[float | None], after: list[float | None]) -> str:
    """Whether the figure held its goal: 10% = after's median at most 1.1x before's; no worse =
    after's median at most before's worst run (the spread of before's own runs is the noise)."""
    b, a = median(before), median(after)
    if not goal or a is None or (b is None and "MB" not in goal):
        return ""
    if goal.startswith("within 10%"):
        ok = a <= 1.1 * b  # type: ignore[operator]
    elif goal.endswith("MB"):
        ok = a <= float(goal.split()[1]) * 1e6
    else:
        ok = a <= max(v for v in before if v is not None)
    return "held" if ok else "NOT held"


def render(section: dict[str, Any]) -> tuple[list[str], list[str]]:
    labels = [label for label, _ in section["versions"]]
    revs = dict(section["versions"])
    n, nb = section["size"], section["burst"]
    lines = [
        f"## Before and after a change: {', '.join(f'{lb} = {rev}' for lb, rev in section['versions'])}",
        "",
        measured(section),
        "",
        f"Each version runs from its own copy of the package ('.' = this tree), same interpreter, same generated "
        f"config: {n:,} deadlines for READY, `check` and RSS, a burst of {nb:,} alerts for the burst. Runs "
        f"interleave ({' '.join(labels)}, repeated {len(section['rounds'])} times) because the machine was shared "
        "with other engineers' tests and builds; the load average at the start of each round: "
        + ", ".join(row["load"] for row in section["rounds"]) + ". Idle = CPU-seconds over "
        f"{section['idle_window']:.0f} s after READY. Held: 'within 10%' = median after <= 1.1 x median before; "
        "'no worse' = median after <= the worst run before. Same results: " + section["identical"] + ".",
        "",
        "| figure | " + " | ".join(f"{lb} ({revs[lb]})" for lb in labels) + " | runs | goal | |",
        "| --- | " + " | ".join("---:" for _ in labels) + " | --- | --- | --- |",
    ]
    for label, where, key, unit, goal in FIGURES:
        per = {lb: values(section, lb, where, key) for lb in labels}
        runs = "; ".join(f"{lb} " + ", ".join(fmt(v, unit) for v in per[lb])
                         for lb in labels)
        verdict = held(goal, per[labels[0]], per[labels[-1]]) if len(labels) >= 2 else ""
        lines.append(f"| {label} | " + " | ".join(fmt(median(per[lb]), unit) for lb in labels)
                     + f" | {runs} | {goal} | {verdict} |")
    lines.append("")
    return lines, section.get("notes", [])
