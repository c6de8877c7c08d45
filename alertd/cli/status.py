"""`alertd status [ID...]`: each deadline's state, what comes next, what was delivered lately,
and what failed and why.

Read beside a running daemon: the ledger is opened read-only (WAL lets it read while the
daemon writes), and the config is read to plan what comes next. The next alerts are the
deliveries the ledger holds open (waiting for a retry, or in flight) and the planned alerts
from the config whose delivery the ledger does not hold yet. Exit 1 with one clear line when
there is no ledger to read; exit 1 too when the config is invalid (the ledger's parts are
still shown, the next alerts are not).

The deadlines part shows each deadline's state (open, acknowledged, snoozed, done, cancelled,
overdue) with who, when and until, and its next alert; those that need someone come first.
With IDs, only those deadlines (and their deliveries).

`--json` prints one object `{"deadlines": [...], "next": [...], "recent": [...], "failures": [...]}`;
instants are RFC 3339 UTC with `Z` and leads canonical ISO 8601 durations, as in `alertd plan --json`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from alertd.cli.common import open_database
from alertd.config import ConfigError, load_config, print_problems
from alertd.config.secretrefs import environ
from alertd.core.display import printable, rfc3339
from alertd.core.model import Deadline, PlannedAlert
from alertd.core.notification import delivery_key
from alertd.core.overview import deadline_items
from alertd.core.planner import plan
from alertd.core.state import DeadlineState, held_by
from alertd.exitcodes import EX_FAIL, EX_OK
from alertd.redact import Redactor
from alertd.settings import Settings, resolve_state_dir
from alertd.store.base import Instance, Row, Store, StoreError
from alertd.store.ledger import LEDGER_FILE, Ledger, LedgerError
from alertd.store.pages import delivery_item

__all__ = ["cmd_status", "delivery_item", "next_items"]

_BATCH = 200  # planned alerts looked up in the ledger per query


def cmd_status(config_dir: Path, settings: Settings, *, now: datetime, as_json: bool, limit: int,
               out: TextIO, err: TextIO, ids: list[str] | None = None) -> int:
    if settings.database_url is not None:
        return _shared_status(config_dir, settings, now=now, as_json=as_json, limit=limit, out=out, err=err, ids=ids)
    state_dir = resolve_state_dir(settings)
    if not state_dir.is_dir():
        print(f"alertd: no state directory at {printable(str(state_dir))}: has `alertd run` started with it? "
              "(set ALERTD_STATE_DIR, or run where ./state is)", file=err)
        return EX_FAIL
    try:
        ledger = Ledger.open_readonly(state_dir / LEDGER_FILE)
    except LedgerError as exc:
        print(f"alertd: {printable(str(exc))}", file=err)
        return EX_FAIL
    try:
        with ledger:
            return _status(config_dir, ledger, now=now, as_json=as_json, limit=limit, out=out, err=err, ids=ids)
    except (LedgerError, sqlite3.Error) as exc:  # a row it cannot read, an I/O error: one line
        text = str(exc) if isinstance(exc, LedgerError) else f"cannot read ledger {ledger.path}: {exc}"
        print(f"alertd: {printable(text)}", file=err)
        return EX_FAIL


def _shared_status(config_dir: Path, settings: Settings, **kw: Any) -> int:
    """Several instances on one PostgreSQL: the deliveries of all of them, and the instances."""
    try:
        with open_database(settings, migrate=False) as store:
            return _status(config_dir, store, instances=store.instances(), **kw)
    except StoreError as exc:
        print(f"alertd: {printable(str(exc))}", file=kw["err"])
        return EX_FAIL


def _status(config_dir: Path, ledger: Store, *, now: datetime, as_json: bool, limit: int, out: TextIO,
            err: TextIO, ids: list[str] | None, instances: list[Instance] | None = None) -> int:
    try:
        config = load_config(config_dir, env=environ())
    except ConfigError as exc:
        print_problems(exc, err)
        redact = Redactor(exc.secrets)
        print(f"alertd: the config in {printable(str(config_dir))} is invalid: the next alerts cannot be planned",
              file=err)
        deadlines: list[Deadline] | None = None
    else:
        redact = Redactor(config.secrets)
        deadlines = list(config.deadlines)
        if ids:
            unknown = sorted(set(ids) - {d.id for d in deadlines})
            if unknown:
                where = printable(str(config_dir))
                print(redact(f"alertd: error: no deadline {', '.join(map(repr, unknown))} in {where}"),
                      file=err)
                return EX_FAIL
            deadlines = [d for d in deadlines if d.id in ids]
    upcoming = states = None
    if deadlines is not None:
        found = {i: st for (i, _), st in ledger.states((d.id, d.due) for d in deadlines).items()}
        upcoming = next_items(deadlines, ledger, now=now, limit=limit, states=found)
        states = deadline_items(deadlines, found, now=now, limit=limit)
    wanted = set(ids or ())
    recent = [delivery_item(r) for r in ledger.recent(limit if not wanted else limit * 50)
              if not wanted or r.deadline_id in wanted][:limit]
    failures = [delivery_item(r) for r in ledger.failures(limit if not wanted else limit * 50)
                if not wanted or r.deadline_id in wanted][:limit]
    counts = ledger.counts()
    members = None if instances is None else [instance_item(i) for i in instances]
    if as_json:
        doc = {"deadlines": states, "next": upcoming, "recent": recent, "failures": failures}
        if members is not None:
            doc["instances"] = members
        print(redact(json.dumps(doc, ensure_ascii=False)), file=out)
    else:
        print(redact(render(upcoming, recent, failures, counts, ledger=getattr(ledger, "display", ledger.path),
                            deadlines=states,
                            instances=members)), file=out)
    return EX_OK if deadlines is not None else EX_FAIL


def instance_item(i: Instance) -> dict[str, Any]:
    """One instance on a shared database, as its heartbeats left it."""
    return {"name": i.name, "host": i.host, "pid": i.pid, "version": i.version, "alive": i.alive,
            "started_at": _instant(i.started_at), "heartbeat_at": _instant(i.heartbeat_at),
            "stopped_at": _instant(i.stopped_at), "claims": i.claims}


def next_items(deadlines: Iterable[Deadline], ledger: Ledger, *, now: datetime, limit: int,
               states: Mapping[str, DeadlineState] | None = None) -> list[dict[str, Any]]:
    """The next `limit` alerts, soonest first: open deliveries from the ledger (`pending` waits
    for `next_retry_at`, `sending` is in flight) and planned alerts at or after `now` minus the
    channels the ledger already holds and the alerts what people did holds (done, acknowledged,
    snoozed: `states` by deadline id). Planned items have the `plan --json` keys plus `state`
    ("planned"), `attempts` (0), `next_retry_at` and `last_error` (null)."""
    states = states or {}
    timed = [(r.next_retry_at or r.fire_at, _open_item(r)) for r in ledger.next(limit)]
    # The next `limit` alerts hold at most `limit` repeats of one deadline (plus what holds and the ledger drop).
    alerts = [a for a in plan(deadlines, start=now, repeats=2 * limit)
              if a.deadline.id not in states or held_by(a.deadline, states[a.deadline.id], a, a.fire_at) is None]
    timed += islice(_planned(alerts, ledger), limit)
    timed.sort(key=lambda t: (t[0], t[1]["deadline"]))  # stable: plan's longer-lead-first order stays
    return [item for _, item in timed[:limit]]


def _planned(alerts: list[PlannedAlert], ledger: Ledger) -> Iterator[tuple[datetime, dict[str, Any]]]:
    for start in range(0, len(alerts), _BATCH):
        batch = alerts[start:start + _BATCH]
        keys = [{ch: delivery_key(a.deadline.id, a.lead, a.deadline.due, ch) for ch in a.targets} for a in batch]
        held = ledger.rows(k for per_alert in keys for k in per_alert.values())
        for a, per_alert in zip(batch, keys, strict=True):
            channels = [ch for ch, key in per_alert.items() if key not in held]
            if channels:
                yield a.fire_at, {"deadline": a.deadline.id, "lead": a.lead.iso, "fire_at": rfc3339(a.fire_at),
                                  "due": rfc3339(a.deadline.due), "channels": channels, "state": "planned",
                                  "attempts": 0, "next_retry_at": None, "last_error": None}


def _open_item(row: Row) -> dict[str, Any]:
    return {"deadline": row.deadline_id, "lead": row.lead, "fire_at": rfc3339(row.fire_at), "due": rfc3339(row.due),
            "channels": [row.channel], "state": row.state, "attempts": row.attempts,
            "next_retry_at": _instant(row.next_retry_at), "last_error": row.last_error}


def _deadline_line(d: dict[str, Any]) -> str:
    """`report-q3  acknowledged by alice at 2030-...Z  due 2030-05-22T00:00:00Z  next -PT30M at ... -> ops`."""
    state = d["state"]
    if d["until"]:
        state += f" until {d['until']}"
    if d["by"]:
        state += f" by {d['by']} at {d['at']}" + (f" ({d['note']})" if d["note"] else "")
    nxt = d["next_alert"]
    then = f"next {nxt['lead']} at {nxt['fire_at']} -> {', '.join(nxt['channels'])}" if nxt else "nothing more to send"
    return f"{d['id']}  {state}  due {d['due']}  {then}"


def _instant(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


def render(upcoming: list[dict[str, Any]] | None, recent: list[dict[str, Any]], failures: list[dict[str, Any]],
           counts: dict[str, int], *, ledger: Path | str, deadlines: list[dict[str, Any]] | None = None,
           instances: list[dict[str, Any]] | None = None) -> str:
    """The text form: four titled parts, one line per entry.

    Clock readings (when a row changed, when a retry is due) are shown in whole seconds; what came
    from outside (an error a receiver answered, the ledger's path) has its control characters escaped.
    """
    where = "database" if isinstance(ledger, str) else "ledger"  # (a str: a shared database's display URL)
    lines = [f"{where} {printable(str(ledger))}: " + (", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
                                                     or "no deliveries yet")]
    lines.append("")
    if instances is not None:
        lines.append("instances:" if instances else "instances: none yet")
        for i in instances:
            what = "alive" if i["alive"] else ("stopped" if i["stopped_at"] else "dead (no heartbeat)")
            lines.append(f"  {printable(i['name'])}  {what}  host {printable(i['host'])} pid {i['pid']}  "
                         f"last heartbeat {_seconds(i['heartbeat_at'])}  leases {i['claims']}")
        lines.append("")
    if deadlines is not None:
        lines.append("deadlines:" if deadlines else "deadlines: none")
        lines += [f"  {_deadline_line(d)}" for d in deadlines]
        lines.append("")
    if upcoming is None:
        lines.append("next alerts: unknown (the config is invalid)")
    else:
        lines.append("next alerts:" if upcoming else "next alerts: none planned")
        for i in upcoming:
            line = f"  {i['fire_at']}  {i['lead']:<8} {i['deadline']}  -> {', '.join(i['channels'])}"
            if i["state"] == "pending" and i["next_retry_at"]:
                line += (f"  [retry {i['attempts'] + 1} at {_seconds(i['next_retry_at'])}; "
                         f"last error: {printable(str(i['last_error']))}]")
            elif i["state"] != "planned":
                line += f"  [{i['state']}, attempt {i['attempts']}]"
            lines.append(line)
    lines.append("")
    lines.append("recent deliveries:" if recent else "recent deliveries: none")
    for r in recent:
        state = r["state"] + (f" ({r['reason']})" if r["reason"] else "")
        lines.append(f"  {_seconds(r['updated_at'])}  {state:<22} {r['lead']:<8} {r['deadline']}  -> {r['channel']}  "
                     f"attempts {r['attempts']}" + (f"  by {printable(r['by'])}" if r.get("by") else ""))
    lines.append("")
    lines.append("failures:" if failures else "failures: none")
    for r in failures:
        lines.append(f"  {_seconds(r['updated_at'])}  {r['state']} ({r['reason']}) after {r['attempts']} "
                     f"attempt{'s' if r['attempts'] != 1 else ''}: {r['lead']} {r['deadline']}  -> {r['channel']}")
        if r["last_error"]:
            lines.append(f"      {printable(r['last_error'])}")
    return "\n".join(lines)


def _seconds(instant: str) -> str:
    """An RFC 3339 instant of the JSON form, without its fraction of a second."""
    return re.sub(r"\.\d+Z$", "Z", instant)
