"""Where load_config's time goes with the forked reader, as CPU seconds: a probe for A/B choices
when the machine is too busy for wall times to tell (not part of `make bench`).

    python bench/loadpath.py --versions with=c909df5,without=. [--size 100000] [--rounds 5]

Runs `load_config` on the generated config in a fresh process per version and round, the
versions interleaved, and splits the parent's CPU at the moment it starts waiting for the
helper: `pre` (its own share of the files, and anything it does before the join), `child` (the
helper, all of it), `post` (unpickling the helper's parts and everything after). On two free
cores the wall time is about max(pre, child) + post: `model`. CPU seconds are inflated on a
busy machine too, but far less unevenly than wall times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from compare import parse_versions
from harness import prepare
from trees import PREAMBLE, tree_at

PROBE = """
import json, resource, sys, time
from pathlib import Path
from alertd.config import load_config, readers
mark = {}
collect = readers._Helper.collect
def timed_collect(self, *args, **kwargs):
    mark["pre"] = time.process_time()
    return collect(self, *args, **kwargs)
readers._Helper.collect = timed_collect
start = time.process_time()
load_config(Path(sys.argv[1]), env={}, parallel=True)
total = time.process_time() - start
child = resource.getrusage(resource.RUSAGE_CHILDREN)
pre = mark.get("pre", start + total) - start  # no helper (too few files): all of it is "pre"
out = {"pre": pre, "post": total - pre, "child": child.ru_utime + child.ru_stime}
out["model"] = max(out["pre"], out["child"]) + out["post"]
print(json.dumps(out))
"""


def probe(tree: Path, config: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", PREAMBLE + PROBE, str(tree), str(config)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--versions", required=True, help="LABEL=REV,... ('.' = this tree)")
    p.add_argument("--size", type=int, default=100000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    versions = [(label, tree_at(rev)) for label, rev in parse_versions(args.versions)]
    config = prepare(args.size) / "alertd"
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in versions}
    for i in range(args.rounds):
        for label, tree in versions:
            if tree is None:
                raise SystemExit(f"no tree for {label}")
            runs[label].append(probe(tree, config))
            print(f"round {i + 1} {label}: " + " ".join(f"{k}={v:.2f}" for k, v in runs[label][-1].items()),
                  flush=True)
    first = versions[0][0]
    print(f"\nmedians over {args.rounds} interleaved rounds at {args.size:,} deadlines (CPU seconds)")
    for label, _ in versions:
        med = {k: statistics.median(r[k] for r in runs[label]) for k in ("model", "pre", "child", "post")}
        paired = statistics.median(a["model"] / b["model"] for a, b in zip(runs[label], runs[first], strict=True))
        print(f"{label}: " + " ".join(f"{k} {v:.2f}" for k, v in med.items()) + f"; model / {first}'s, paired: "
              f"{paired:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
