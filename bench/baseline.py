"""The naive baseline alertd is measured against (issue 6): what a user would write by hand.

    NOTIFY_SOCKET=/path python bench/baseline.py bench/work/gen-1000/baseline.yaml

PyYAML (its C loader when there) reads the deadlines, APScheduler 3.x gets one `date` job
per reminder in its default thread pool (10 threads), and each job POSTs the alert with a
synchronous `httpx.post`. Once every job is added it sends READY=1 to $NOTIFY_SOCKET as
sd_notify does, so the same harness measures both programs. SIGTERM/SIGINT stop it.
Deliberately unoptimised: it is the yardstick, not a competitor.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

import httpx
import yaml
from apscheduler.schedulers.background import BackgroundScheduler

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def sd_notify(message: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode(), address)


def send(url: str, payload: dict) -> None:
    httpx.post(url, json=payload, timeout=10)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        config = yaml.load(fh, Loader=Loader)  # a SafeLoader, C or Python
    url = config["url"]
    scheduler = BackgroundScheduler()
    scheduler.start()
    for deadline in config["deadlines"]:
        for instant in deadline["alerts"]:  # PyYAML already typed them as datetimes
            payload = {"deadline": deadline["id"], "title": deadline["title"], "fire_at": str(instant)}
            scheduler.add_job(send, "date", run_date=instant, args=[url, payload])
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sd_notify("READY=1")
    stop.wait()
    scheduler.shutdown(wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
