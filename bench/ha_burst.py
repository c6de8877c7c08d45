"""Several instances on one PostgreSQL against one SQLite instance, side by side in one run.

    .venv/bin/python bench/ha_burst.py [--alerts 2000] [--idle-deadlines 100000] [ADMIN_URL]

1. burst: N alerts due at one instant, a loopback receiver that answers in 50 ms; one `alertd run`
   on SQLite, then three on one fresh PostgreSQL database: first delivery and all delivered after
   the instant, each key once, and the database's transactions per alert (pg_stat_database's
   commits and rollbacks over the burst: each autocommit statement is one, a multi-statement
   transaction is one too, so this is a lower bound of the round trips).
2. failover: 300 alerts at one instant, a receiver that answers in 3 s; kill -9 the instance that
   holds the most claims half a second after the instant: from the kill to the first and the last
   of its claims the others send.
3. idle: three instances on 100,000 deadlines (nothing due): the database's transactions per second.

Each scenario gets its own database, dropped at the end. Writes its section into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import gen
import psycopg
from harness import BENCH, WORK, Spawned, alertd_command, fmt, loadavg, median, prepare, spawn_until_ready
from psycopg.conninfo import make_conninfo
from receiver import Receiver

ADMIN = make_conninfo(host="127.0.0.1", port=5432, user="postgres", dbname="test")
HEADING = "## High availability: three instances on one PostgreSQL"


class Database:
    """A scratch database, and its transaction count."""

    def __init__(self, admin: str) -> None:
        self.admin, self.name = admin, f"alertd_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = make_conninfo(admin, dbname=self.name)

    def transactions(self) -> int:
        time.sleep(1.2)  # backends flush their counters about once a second
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                               (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def claims(self) -> Counter[str]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return Counter(dict(conn.execute(
                "SELECT claimed_by, count(*) FROM alertd.deliveries WHERE state IN ('pending', 'sending') "
                "AND claim_until > now() GROUP BY claimed_by").fetchall()))

    def claimed_by(self, name: str) -> set[str]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return {k for (k,) in conn.execute("SELECT key FROM alertd.deliveries WHERE claimed_by = %s AND state "
                                               "IN ('pending', 'sending')", (name,))}

    def drop(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def start(config: Path, db: Database | None, names: str, timeout: float,
          extra: dict[str, str] | None = None) -> list[Spawned]:
    """Instances on `config`: one on SQLite (db None) or one per name on the database; all READY."""
    out = []
    for name in names:
        env = {**(extra or {}), **({} if db is None else {"ALERTD_DATABASE_URL": db.url, "ALERTD_INSTANCE": name})}
        spawned, run = spawn_until_ready(lambda _: alertd_command(config), timeout, env=env)
        out.append(spawned)
        if run.ready is None:
            for s in out:
                s.close()
            raise SystemExit(f"instance {name}: {run.note}")
    return out


def burst(n: int, receiver: Receiver, db: Database | None,
          extra: dict[str, str] | None = None) -> dict[str, float | int | None]:
    receiver.reset()
    receiver.delay = 0.05
    names = "a" if db is None else "abc"
    instant = datetime.fromtimestamp(int(time.time()) + 25 + 5 * len(names), UTC)
    directory = gen.generate_burst(WORK / f"ha-burst-{len(names)}", n, at=instant, url=receiver.url)
    spawned = start(directory / "alertd", db, names, timeout=instant.timestamp() - time.time() - 2, extra=extra)
    try:
        before = db.transactions() if db is not None else 0
        t = instant.timestamp()
        while time.time() < t + 30 and len(receiver.answered) < n:
            time.sleep(0.05)
        settled = time.time()
        time.sleep(1.0)  # a duplicate would come now
        keys = Counter(k for _, k in receiver.keys)
        answered = sorted(receiver.answered)
        spent = (db.transactions() - before) if db is not None else None
        return {"first": min((a for a in receiver.arrived if a >= t - 1), default=t - 1) - t,
                "all_within": (answered[n - 1] - t) if len(answered) >= n else None,
                "delivered": len(keys), "duplicates": sum(c - 1 for c in keys.values()),
                "transactions_per_alert": None if spent is None else spent / n, "window": settled - t}
    finally:
        for s in spawned:
            s.close()


def failover(receiver: Receiver, admin: str, n: int = 300) -> dict[str, float | int | None]:
    db = Database(admin)
    receiver.reset()
    receiver.delay = 3.0
    instant = datetime.fromtimestamp(int(time.time()) + 40, UTC)
    directory = gen.generate_burst(WORK / "ha-failover", n, at=instant, url=receiver.url)
    spawned = start(directory / "alertd", db, "abc", timeout=instant.timestamp() - time.time() - 2)
    try:
        while time.time() < instant.timestamp() + 0.5:
            time.sleep(0.05)
        victim, held = db.claims().most_common(1)[0]
        index = "abc".index(victim)
        killed = time.time()
        spawned[index].child.send_signal(signal.SIGKILL)
        spawned[index].child.wait(10)
        mine = db.claimed_by(victim)
        while time.time() < killed + 30 and not {k for a, k in receiver.keys if a > killed} >= mine:
            time.sleep(0.05)
        after = {}
        for at, key in receiver.keys:
            if at > killed and key in mine:
                after.setdefault(key, at)
        return {"victim_claims": held, "taken_over": len(after), "of": len(mine),
                "first": (min(after.values()) - killed) if after else None,
                "last": (max(after.values()) - killed) if len(after) == len(mine) else None}
    finally:
        for s in spawned:
            s.close()
        db.drop()


def idle(deadlines: int, admin: str, seconds: float = 20.0) -> dict[str, float]:
    db = Database(admin)
    spawned = start(prepare(deadlines) / "alertd", db, "abc", timeout=600)
    try:
        time.sleep(5)  # start-up writes settle
        before, t0 = db.transactions(), time.monotonic()
        time.sleep(seconds)
        spent, took = db.transactions() - before, time.monotonic() - t0
        return {"per_second": spent / took, "deadlines": deadlines}
    finally:
        for s in spawned:
            s.close()
        db.drop()


def medians(runs: list[dict]) -> dict:
    """Per figure, the median of the runs; keys delivered and duplicates: the worst run."""
    out = {k: median([r[k] for r in runs]) for k in runs[0]}
    out["delivered"] = min(r["delivered"] for r in runs)
    out["duplicates"] = max(r["duplicates"] for r in runs)
    out["each"] = [(r["first"], r["all_within"]) for r in runs]
    return out


def render(n: int, sqlite: dict, pg: dict, fail: dict, quiet: dict, *, load: str, runs: int) -> str:
    def row(label: str, key: str, unit: str = "s") -> str:
        return f"| {label} | {fmt(sqlite.get(key), unit)} | {fmt(pg.get(key), unit)} |"

    per_alert = pg["transactions_per_alert"]
    return "\n".join([
        HEADING, "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `bench/ha_burst.py --alerts {n} --idle-deadlines "
        f"{quiet['deadlines']} --runs {runs}`, burst: median of {runs} run(s) (keys and duplicates: the worst), "
        f"failover and idle: one run; load average at start / end: {load}.", "",
        f"{n:,} alerts due at one instant to a loopback receiver that answers in 50 ms: one `alertd run` on "
        "SQLite, then three on one PostgreSQL 15 database on this machine, in the same run. first = the first "
        "request's arrival after the instant; all = the last delivery answered.", "",
        "| figure | one instance, SQLite | three instances, PostgreSQL |", "| --- | ---: | ---: |",
        row("first delivery", "first", "ms"), row("all delivered within", "all_within"),
        f"| keys delivered (of {n:,}) | {sqlite['delivered']} | {pg['delivered']} |",
        f"| duplicates | {sqlite['duplicates']} | {pg['duplicates']} |",
        f"| database transactions per alert | | {per_alert:.2f} |" if per_alert is not None else "", "",
        "Each run, first / all: SQLite " + ", ".join(f"{fmt(f, 'ms')} / {fmt(a)}" for f, a in sqlite["each"])
        + "; PostgreSQL " + ", ".join(f"{fmt(f, 'ms')} / {fmt(a)}" for f, a in pg["each"]) + ".", "",
        "Transactions per alert: pg_stat_database's commits and rollbacks during the burst, over the alerts, "
        "heartbeats and sweeps included; each batch statement (record, claim, the `sending` check, the `sent` "
        "marks) serves many alerts.", "",
        f"Failover: 300 alerts at one instant, a receiver that answers in 3 s; 0.5 s after the instant the "
        f"instance holding the most claims ({fail['victim_claims']}) is killed with SIGKILL. From the kill to "
        f"the first of its claims another instance sends: {fmt(fail['first'])}; to the last: "
        f"{fmt(fail['last'])} ({fail['taken_over']} of {fail['of']} taken over; goal: under 10 s).", "",
        f"Idle: three instances on {quiet['deadlines']:,} deadlines, nothing due: "
        f"{quiet['per_second']:.1f} database transactions per second in all (heartbeats every 2 s, sweeps "
        "every 1 s, the listener's poll every 5 s, per instance; none of them reads per deadline).", ""])


def write_section(text: str, path: Path = BENCH / "RESULTS.md") -> None:
    """Replace this scenario's section of RESULTS.md (or add it before "Not measured")."""
    doc = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n", doc)
    elif "## Not measured" in doc:
        doc = doc.replace("## Not measured", text + "\n## Not measured", 1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("admin", nargs="?", default=ADMIN)
    p.add_argument("--alerts", type=int, default=2000)
    p.add_argument("--idle-deadlines", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3, help="burst pairs (SQLite then PostgreSQL); medians are shown")
    args = p.parse_args(argv)
    load = loadavg()
    sqlite_runs, pg_runs = [], []
    with Receiver(delay=0.05) as receiver:
        for _ in range(args.runs):  # alternated, so that a busy moment of the machine hits both alike
            sqlite_runs.append(burst(args.alerts, receiver, None))
            print("sqlite:", sqlite_runs[-1], flush=True)
            db = Database(args.admin)
            try:
                pg_runs.append(burst(args.alerts, receiver, db))
            finally:
                db.drop()
            print("postgresql:", pg_runs[-1], flush=True)
        sqlite, pg = medians(sqlite_runs), medians(pg_runs)
        fail = failover(receiver, args.admin)
        print("failover:", fail, flush=True)
    quiet = idle(args.idle_deadlines, args.admin)
    print("idle:", quiet, flush=True)
    write_section(render(args.alerts, sqlite, pg, fail, quiet, load=f"{load} / {loadavg()}", runs=args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
