"""``GET /metrics``: Prometheus' text format, read by Prometheus' own parser: intake by
channel and outcome, routing decisions and the offer-wait histogram, queues, agents by
state, live sockets, event-log lag, errors; behind a token when one is set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client.parser import text_string_to_metric_families

from interaction_center.settings.model import Settings
from tests.support import Client, accept_first, login, next_frame, post_sms, set_status, sms_form

Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _samples(
    client: Client, headers: dict[str, str] | None = None
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics", headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def _at(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def test_the_metrics_follow_what_the_service_does(client: Client) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await post_sms(client, sms_form(sender="+15551230001"))
    waiting = await _samples(client)
    assert _at(waiting, "ic_intake_total", channel="sms", outcome="created") == 1
    assert _at(waiting, "ic_queue_waiting", queue="support", channel="sms") == 1
    assert _at(waiting, "ic_queue_oldest_wait_seconds", queue="support", channel="sms") >= 0
    assert _at(waiting, "ic_websocket_connections", kind="agent") == 1

    await set_status(client, alice, "available")
    await accept_first(client, alice)
    await post_sms(client, sms_form(sender="+15551230001", sid="SM" + "f" * 32))
    await post_sms(client, sms_form(sender="+15551230001", sid="SM" + "f" * 32))
    bad = await client.put("/api/v1/agents/me/status", data=b"{nope", headers=alice)
    assert bad.status == 400
    samples = await _samples(client)
    assert _at(samples, "ic_intake_total", channel="sms", outcome="continued") == 1
    assert _at(samples, "ic_intake_total", channel="sms", outcome="duplicate") == 1
    assert _at(samples, "ic_routing_decisions_total", decision="offered") == 1
    assert _at(samples, "ic_routing_decisions_total", decision="accepted") == 1
    assert _at(samples, "ic_routing_offer_wait_seconds_count", queue="support") == 1
    assert _at(samples, "ic_queue_waiting", queue="support", channel="sms") == 0
    assert _at(samples, "ic_agents", state="available") == 1
    assert _at(samples, "ic_http_errors_total", code="input.bad_json") == 1
    for consumer in ("routing", "statistics", "agent-pushes"):
        assert ("ic_event_log_lag", frozenset({("consumer", consumer)})) in samples, consumer
    await socket.close()


async def test_with_a_token_the_metrics_are_only_for_who_sends_it(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(top='[auth]\nmetrics_token = "scrape-me-please"\n'))
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    samples = await _samples(client, {"Authorization": "Bearer scrape-me-please"})
    assert any(name == "ic_agents" for name, _ in samples)
