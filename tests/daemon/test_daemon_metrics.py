"""The metrics endpoint of a real running daemon, scraped over a real socket (ephemeral ports only)."""

from __future__ import annotations

import signal
import socket
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import iso, just_passed, wait_until

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def deliveries(samples: Samples, outcome: str, channel: str = "hook") -> float | None:
    return samples.get(("alertd_deliveries_total", (("channel", channel), ("outcome", outcome))))


def test_a_delivery_to_a_webhook_is_counted_with_its_lateness_and_what_comes_next(
        receiver, notify, daemon_factory, daemon_config):
    far_due = datetime.now(UTC) + timedelta(days=3)
    far = {"id": "far", "title": "Far", "due": iso(far_due), "remind": ["1d", "0"]}
    daemon_config(receiver.url, [far])
    d = daemon_factory(env={"ALERTD_METRICS_ADDR": "127.0.0.1:0"})
    [listening] = d.wait_event("metrics.listening")
    port = listening["port"]
    assert port > 0 and listening["url"] == f"http://127.0.0.1:{port}/metrics"
    notify.wait_for("READY=1")

    before = scrape(port)
    assert deliveries(before, "sent") == 0, "every channel's series exists from the start"
    assert before[("alertd_deadlines", ())] == 1
    assert before[("alertd_config_last_reload_successful", ())] == 1
    assert before[("alertd_config_reloads_total", (("result", "success"),))] == 1

    soon = {"id": "soon", "title": "Soon", "due": iso(datetime.now(UTC) + timedelta(seconds=1.5)), "remind": ["0"]}
    daemon_config(receiver.url, [soon, far])
    d.reload()
    receiver.wait_posts(1)
    d.wait_event("alert.sent")  # logged after the counters move
    after = scrape(port)
    assert deliveries(after, "sent") == 1
    assert deliveries(after, "failed") == deliveries(after, "superseded") == deliveries(after, "missed") == 0
    assert after[("alertd_delivery_lateness_seconds_count", (("channel", "hook"),))] == 1
    assert 0 <= after[("alertd_delivery_lateness_seconds_sum", (("channel", "hook"),))] < 0.25
    assert after[("alertd_delivery_duration_seconds_count", (("channel", "hook"),))] == 1
    assert after[("alertd_delivery_retries_total", (("channel", "hook"),))] == 0
    assert after[("alertd_deadlines", ())] == 2
    assert after[("alertd_config_reloads_total", (("result", "success"),))] == 2
    # "soon" is done: the next planned alert is far's 1-day reminder.
    assert after[("alertd_next_alert_timestamp_seconds", ())] == pytest.approx(
        (far_due - timedelta(days=1)).timestamp(), abs=1e-3)
    assert d.stop() == 0


def test_a_retry_and_a_reload_are_counted(receiver, notify, daemon_factory, daemon_config, tmp_path):
    receiver.statuses = [503]
    daemon_config(receiver.url, [just_passed("soon")])
    d = daemon_factory(env={"ALERTD_METRICS_ADDR": "127.0.0.1:0"})
    port = d.wait_event("metrics.listening")[0]["port"]
    d.wait_event("alert.retry")
    d.wait_event("alert.sent", timeout=10)
    samples = scrape(port)
    assert samples[("alertd_delivery_retries_total", (("channel", "hook"),))] == 1
    assert samples[("alertd_delivery_duration_seconds_count", (("channel", "hook"),))] == 2
    assert deliveries(samples, "sent") == 1

    (tmp_path / "config" / "broken.yaml").write_text("deadlines: [\n")
    d.signal(signal.SIGHUP)
    d.wait_event("config.reload_failed")
    samples = wait_until(lambda: (s := scrape(port))[("alertd_config_last_reload_successful", ())] == 0 and s,
                         5, "the failed reload in the metrics")
    assert samples[("alertd_config_reloads_total", (("result", "failure"),))] == 1
    assert samples[("alertd_deadlines", ())] == 1, "the running config is kept"
    assert d.stop() == 0


def test_a_superseded_reminder_and_a_refused_delivery_are_counted(receiver, notify, daemon_factory, daemon_config):
    """Catch-up at start supersedes the older missed reminder and sends the latest, which is refused (404)."""
    receiver.statuses = [404]
    daemon_config(receiver.url, [{"id": "late", "title": "Late", "due": iso(datetime.now(UTC) + timedelta(hours=1)),
                                  "remind": ["3h", "2h"]}])
    d = daemon_factory(env={"ALERTD_METRICS_ADDR": "127.0.0.1:0"})
    port = d.wait_event("metrics.listening")[0]["port"]
    d.wait_event("alert.failed")
    samples = scrape(port)
    assert (deliveries(samples, "superseded"), deliveries(samples, "failed"), deliveries(samples, "sent")) == (1, 1, 0)
    assert samples.get(("alertd_delivery_lateness_seconds_count", (("channel", "hook"),)), 0) == 0, "only sends"
    assert samples[("alertd_next_alert_timestamp_seconds", ())] == 0, "nothing is left to fire"
    assert d.stop() == 0


def test_a_taken_metrics_port_exits_78_before_ready(receiver, notify, daemon_factory, daemon_config, tmp_path):
    daemon_config(receiver.url, [{"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        d = daemon_factory(env={"ALERTD_METRICS_ADDR": f"127.0.0.1:{port}"})
        assert d.proc.wait(20) == 78
    output = d.log_path.read_text()
    assert f"alertd: error: ALERTD_METRICS_ADDR '127.0.0.1:{port}': cannot listen: the address is already in use" \
        in output
    assert "Traceback" not in output
    assert notify.count("READY=1") == 0
    assert not (tmp_path / "state").exists(), "nothing is written when the start is refused"


@pytest.mark.parametrize("addr", ["localhost", "127.0.0.1:99999", "[::1"])
def test_an_invalid_metrics_address_exits_78_with_a_clear_error(
        addr, receiver, notify, daemon_factory, daemon_config):
    daemon_config(receiver.url, [{"id": "far", "title": "Far", "due": iso(datetime.now(UTC) + timedelta(days=3))}])
    d = daemon_factory(env={"ALERTD_METRICS_ADDR": addr})
    assert d.proc.wait(20) == 78
    output = d.log_path.read_text()
    assert f"alertd: error: ALERTD_METRICS_ADDR {addr!r}" in output
    assert "Traceback" not in output
