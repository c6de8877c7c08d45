"""The engine's store calls off the loop on PostgreSQL: three instances, before and after, in one run.

    .venv/bin/python bench/ha_loop.py --before DIR [--alerts 2000] [--runs 3] [ADMIN_URL]

DIR holds the `alertd` package to compare with (e.g. `git archive main alertd | tar -x -C DIR`);
it is put first on the instances' PYTHONPATH. Each run is bench/ha_burst.py's burst (N alerts at
one instant, a receiver that answers in 50 ms, three `alertd run` on one fresh database), once
with DIR's code and once with this checkout's, alternated so that a busy moment of the shared
machine hits both alike. Writes its section into bench/RESULTS.md, after the HA section.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from ha_burst import ADMIN, Database, burst, medians
from harness import BENCH, fmt, loadavg
from receiver import Receiver

HEADING = "## High availability: the engine's store calls in threads (before / after)"


def render(n: int, before: dict, after: dict, *, load: str, runs: int, label: str) -> str:
    def row(name: str, key: str, unit: str = "s") -> str:
        return f"| {name} | {fmt(before.get(key), unit)} | {fmt(after.get(key), unit)} |"

    def each(m: dict) -> str:
        return ", ".join(f"{fmt(f, 'ms')} / {fmt(a)}" for f, a in m["each"])

    return "\n".join([
        HEADING, "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `bench/ha_loop.py --alerts {n} --runs {runs}`: "
        f"median of {runs} alternated pair(s) (keys and duplicates: the worst run); load average at start / end: "
        f"{load} (2 cores, shared with other work).", "",
        f"{n:,} alerts due at one instant, three instances on one PostgreSQL 15 database, a loopback receiver "
        f"that answers in 50 ms. Before: {label} (the engine's reads and writes on the event loop); after: "
        "each of them awaited in the store's 4-thread pool.", "",
        "| figure | before | after |", "| --- | ---: | ---: |",
        row("first delivery", "first", "ms"), row("all delivered within", "all_within"),
        f"| keys delivered (of {n:,}) | {before['delivered']} | {after['delivered']} |",
        f"| duplicates | {before['duplicates']} | {after['duplicates']} |", "",
        f"Each run, first / all: before {each(before)}; after {each(after)}.", ""])


def write_section(text: str, path: Path = BENCH / "RESULTS.md") -> None:
    doc = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n", doc)
    else:  # right after the HA section
        ha = re.compile(r"^## High availability: three instances.*?(?=^## |\Z)", re.S | re.M).search(doc)
        at = ha.end() if ha else len(doc)
        doc = doc[:at].rstrip("\n") + "\n\n" + text + "\n" + doc[at:]
    path.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("admin", nargs="?", default=ADMIN)
    p.add_argument("--before", type=Path, required=True, help="a directory holding the alertd package to compare with")
    p.add_argument("--label", default="main")
    p.add_argument("--alerts", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    if not (args.before / "alertd" / "__init__.py").is_file():
        raise SystemExit(f"{args.before}: no alertd package in it")
    load = loadavg()
    results: dict[str, list[dict]] = {"before": [], "after": []}
    with Receiver(delay=0.05) as receiver:
        for i in range(args.runs):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            for which in order:
                extra = {"PYTHONPATH": str(args.before.resolve())} if which == "before" else {}
                db = Database(args.admin)
                try:
                    results[which].append(burst(args.alerts, receiver, db, extra))
                finally:
                    db.drop()
                print(which, results[which][-1], flush=True)
    write_section(render(args.alerts, medians(results["before"]), medians(results["after"]),
                         load=f"{load} / {loadavg()}", runs=args.runs, label=args.label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
