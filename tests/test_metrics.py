"""alertd.metrics: the counters, and the endpoint on real loopback sockets (ephemeral ports only)."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alertd.metrics import Metrics, MetricsAddressError, MetricsServer, parse_metrics_addr, start_metrics_server

AT = datetime(2021, 5, 20, 21, 0, tzinfo=UTC)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def server(metrics: Metrics) -> Iterator[MetricsServer]:
    running = start_metrics_server("127.0.0.1:0", metrics)
    yield running
    running.close()


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_endpoint_serves_the_metrics_on_an_ephemeral_port(metrics: Metrics, server: MetricsServer) -> None:
    metrics.channels_known(["ops-slack"])
    metrics.delivery("ops-slack", "sent", lateness=0.02)
    metrics.attempt("ops-slack", 0.3, retry=True)
    metrics.attempt("ops-slack", 0.1, retry=False)
    metrics.scheduled(AT)
    metrics.config_loaded(ok=True, at=AT, deadlines=3)

    assert server.port > 0
    samples = scrape(server.url)

    assert samples[("alertd_deliveries_total", (("channel", "ops-slack"), ("outcome", "sent")))] == 1
    assert samples[("alertd_deliveries_total", (("channel", "ops-slack"), ("outcome", "failed")))] == 0
    assert samples[("alertd_delivery_retries_total", (("channel", "ops-slack"),))] == 1
    assert samples[("alertd_delivery_duration_seconds_count", (("channel", "ops-slack"),))] == 2
    assert samples[("alertd_delivery_lateness_seconds_count", (("channel", "ops-slack"),))] == 1
    assert samples[("alertd_next_alert_timestamp_seconds", ())] == AT.timestamp()
    assert samples[("alertd_deadlines", ())] == 3
    assert samples[("alertd_config_last_reload_successful", ())] == 1
    assert samples[("alertd_config_last_reload_success_timestamp_seconds", ())] == AT.timestamp()
    assert samples[("alertd_config_reloads_total", (("result", "success"),))] == 1


def test_a_failed_reload_keeps_the_last_success_time(metrics: Metrics) -> None:
    metrics.config_loaded(ok=True, at=AT, deadlines=3)
    metrics.config_loaded(ok=False, at=datetime(2021, 5, 21, tzinfo=UTC))
    assert value(metrics, "alertd_config_last_reload_successful") == 0
    assert value(metrics, "alertd_config_last_reload_success_timestamp_seconds") == AT.timestamp()
    assert value(metrics, "alertd_deadlines") == 3
    assert value(metrics, "alertd_config_reloads_total", result="failure") == 1


def test_nothing_scheduled_sets_the_next_alert_to_zero(metrics: Metrics) -> None:
    metrics.scheduled(AT)
    metrics.scheduled(None)
    assert value(metrics, "alertd_next_alert_timestamp_seconds") == 0


def test_two_metrics_instances_do_not_share_state() -> None:
    a, b = Metrics(), Metrics()
    a.delivery("x", "sent")
    assert value(a, "alertd_deliveries_total", channel="x", outcome="sent") == 1
    assert value(b, "alertd_deliveries_total", channel="x", outcome="sent") is None


def test_a_taken_port_is_a_clear_error(metrics: Metrics) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsAddressError, match=r"127\.0\.0\.1:\d+'.*already in use"):
            start_metrics_server(f"127.0.0.1:{port}", metrics)


def test_closing_the_server_releases_its_port(metrics: Metrics) -> None:
    metrics.config_loaded(ok=True, at=AT, deadlines=3)
    first = start_metrics_server("127.0.0.1:0", metrics)
    port = first.port
    assert scrape(first.url)[("alertd_deadlines", ())] == 3
    first.close()
    with pytest.raises(ConnectionRefusedError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    again = start_metrics_server(f"127.0.0.1:{port}", metrics)  # the same port can be listened on again
    try:
        assert again.port == port
        assert scrape(again.url)[("alertd_deadlines", ())] == 3
    finally:
        again.close()


def test_an_address_no_interface_has_is_a_clear_error(metrics: Metrics) -> None:
    with pytest.raises(MetricsAddressError, match="no local interface has that address"):
        start_metrics_server("192.0.2.1:0", metrics)  # TEST-NET-1: never assigned to a host


@pytest.mark.parametrize(("addr", "message"), [
    ("9721", "is not HOST:PORT"),
    (":9721", "is not HOST:PORT"),
    ("127.0.0.1", "is not HOST:PORT"),
    ("127.0.0.1:http", "port 'http' is not a number"),
    ("127.0.0.1:70000", "port '70000' is not a number from 0 to 65535"),
    ("127.0.0.1:-1", "is not a number"),
    ("::1:9721", "put an IPv6 address in brackets"),
    ("[::1]9721", "is not HOST:PORT"),
    ("[nope]:9721", "'nope' is not an IPv6 address"),
    ("", "is not HOST:PORT"),
])
def test_an_invalid_address_is_a_clear_error(addr: str, message: str) -> None:
    with pytest.raises(MetricsAddressError, match=message.replace("(", r"\(")):
        parse_metrics_addr(addr)


@pytest.mark.parametrize(("addr", "expected"), [
    ("127.0.0.1:9721", ("127.0.0.1", 9721)),
    ("localhost:0", ("localhost", 0)),
    ("[::1]:9721", ("::1", 9721)),
    (" 0.0.0.0:9721 ", ("0.0.0.0", 9721)),
])
def test_valid_addresses_parse(addr: str, expected: tuple[str, int]) -> None:
    assert parse_metrics_addr(addr) == expected
