"""Prometheus metrics: what alertd counts, and the opt-in endpoint that serves them.

The daemon always counts (a `Metrics` holds its own registry, so tests and several
daemons in one process never share state). The HTTP endpoint is opt-in:
`ALERTD_METRICS_ADDR=127.0.0.1:9721` (loopback recommended: the numbers name channels
and deadlines' timing, not secrets, but nobody else needs them). `start_metrics_server`
raises `MetricsAddressError` for an address that is invalid or cannot be bound; the
daemon reports it and exits 78 (EX_CONFIG), like an invalid config.

Names follow Prometheus conventions (`_total` counters, `_seconds` units, timestamps
as Unix seconds); the reload pair mirrors Prometheus's own
`prometheus_config_last_reload_successful` / `..._success_timestamp_seconds`.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

from alertd import __version__

__all__ = ["Metrics", "MetricsAddressError", "MetricsServer", "Outcome", "listen_failure", "parse_metrics_addr",
           "start_metrics_server"]

Outcome = Literal["sent", "failed", "superseded", "missed"]
OUTCOMES: tuple[Outcome, ...] = ("sent", "failed", "superseded", "missed")

# One HTTP request or SMTP session: loopback is milliseconds, a slow relay tens of seconds.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# How long after its instant an alert was accepted: the goal is "tens of milliseconds"
# on time; catch-up after downtime or retries can be hours.
_LATENESS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 900, 3600, 4 * 3600, 86400)


class Metrics:
    """Every alertd metric, in its own registry. Methods take values, never read the clock."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        Info("alertd_build", "alertd version.", registry=r).info({"version": __version__})
        self.deliveries = Counter(
            "alertd_deliveries", "Deliveries that reached a final outcome, by channel and outcome "
            "(sent, failed: gave up, superseded: a later reminder was sent instead, missed: too late).",
            ["channel", "outcome"], registry=r)
        self.delivery_duration = Histogram(
            "alertd_delivery_duration_seconds", "Time one delivery attempt took (request or SMTP session).",
            ["channel"], buckets=_DURATION_BUCKETS, registry=r)
        self.delivery_lateness = Histogram(
            "alertd_delivery_lateness_seconds", "Time from an alert's planned instant to its acceptance "
            "by the receiver.", ["channel"], buckets=_LATENESS_BUCKETS, registry=r)
        self.retries = Counter(
            "alertd_delivery_retries", "Delivery attempts that failed and were scheduled again.",
            ["channel"], registry=r)
        self.next_alert = Gauge(
            "alertd_next_alert_timestamp_seconds", "When the next alert fires (Unix time); 0 when none is "
            "scheduled.", registry=r)
        self.deadlines = Gauge("alertd_deadlines", "Deadlines in the loaded config.", registry=r)
        self.reloads = Counter(
            "alertd_config_reloads", "Config loads (start and SIGHUP), by result.", ["result"], registry=r)
        self.reload_ok = Gauge(
            "alertd_config_last_reload_successful", "1 if the last config load succeeded, else 0.", registry=r)
        self.reload_time = Gauge(
            "alertd_config_last_reload_success_timestamp_seconds", "When the config was last loaded "
            "successfully (Unix time).", registry=r)

    def channels_known(self, channels: list[str] | tuple[str, ...]) -> None:
        """Create every (channel, outcome) series at 0, so rate() works from the first delivery."""
        for channel in channels:
            for outcome in OUTCOMES:
                self.deliveries.labels(channel, outcome)
            self.retries.labels(channel)

    def delivery(self, channel: str, outcome: Outcome, *, lateness: float | None = None) -> None:
        """A delivery reached its final `outcome`; `lateness` (seconds past its instant) when sent."""
        self.deliveries.labels(channel, outcome).inc()
        if lateness is not None:
            self.delivery_lateness.labels(channel).observe(max(lateness, 0.0))

    def attempt(self, channel: str, seconds: float, *, retry: bool) -> None:
        """One attempt took `seconds`; `retry` when it failed and will be tried again."""
        self.delivery_duration.labels(channel).observe(seconds)
        if retry:
            self.retries.labels(channel).inc()

    def scheduled(self, next_alert: datetime | None) -> None:
        """The next alert's instant after (re)scheduling, or None when nothing is left."""
        self.next_alert.set(next_alert.timestamp() if next_alert is not None else 0)

    def config_loaded(self, *, ok: bool, at: datetime, deadlines: int | None = None) -> None:
        """A config load (start or reload) finished; `deadlines` is the count now in force when ok."""
        self.reloads.labels("success" if ok else "failure").inc()
        self.reload_ok.set(1 if ok else 0)
        if ok:
            self.reload_time.set(at.timestamp())
            if deadlines is not None:
                self.deadlines.set(deadlines)


class MetricsAddressError(ValueError):
    """ALERTD_METRICS_ADDR is not HOST:PORT, or that address cannot be listened on."""


@dataclass(frozen=True, slots=True)
class MetricsServer:
    """The running endpoint: where it listens, and how to stop it."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port (returns when the serving thread has ended)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def parse_metrics_addr(addr: str, setting: str = "ALERTD_METRICS_ADDR") -> tuple[str, int]:
    """`127.0.0.1:9721`, `localhost:9721`, `[::1]:9721` → (host, port); raises MetricsAddressError
    naming `setting` (ALERTD_HTTP_ADDR is read the same way)."""
    text = addr.strip()
    hint = "write HOST:PORT, e.g. 127.0.0.1:9721 or [::1]:9721"
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
        if not sep:
            raise MetricsAddressError(f"{setting} {addr!r} is not HOST:PORT: {hint}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise MetricsAddressError(f"{setting} {addr!r}: {host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise MetricsAddressError(f"{setting} {addr!r} is not HOST:PORT: {hint}")
        if ":" in host:
            raise MetricsAddressError(f"{setting} {addr!r}: put an IPv6 address in brackets, "
                                      f"e.g. [{host}]:{port_text}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise MetricsAddressError(f"{setting} {addr!r}: port {port_text!r} is not a number "
                                  "from 0 to 65535")
    return host, int(port_text)


def start_metrics_server(addr: str, metrics: Metrics) -> MetricsServer:
    """Serve `metrics` at http://ADDR/metrics from a daemon thread.

    Port 0 picks a free port (see `.port`). Raises MetricsAddressError when `addr` is
    invalid, its host does not resolve, or the port is taken or not allowed.
    """
    host, port = parse_metrics_addr(addr)
    try:
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    except socket.gaierror as exc:
        raise MetricsAddressError(f"ALERTD_METRICS_ADDR {addr!r}: cannot resolve {host!r}: {exc.strerror}") from None
    except OSError as exc:
        raise MetricsAddressError(f"ALERTD_METRICS_ADDR {addr!r}: cannot listen: {listen_failure(exc)}") from None
    return MetricsServer(host=host, port=server.server_port, _server=server, _thread=thread)


def listen_failure(exc: OSError) -> str:
    """Why binding a listening socket failed, in words."""
    return {
        errno.EADDRINUSE: "the address is already in use (another alertd, or another exporter?)",
        errno.EACCES: "permission denied (ports below 1024 need privileges alertd does not have)",
        errno.EADDRNOTAVAIL: "no local interface has that address",
    }.get(exc.errno or 0, exc.strerror or str(exc))
