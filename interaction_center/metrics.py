"""What ``GET /metrics`` reports, in Prometheus' text format (``prometheus-client``): the
counters and the histogram the service keeps as it works (intake, routing, errors), and the
gauges read as the scrape comes (queues, agents, live sockets, event-log lag). Each app has
its own registry: two services in one process (the tests') count apart."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# From a contact's arrival in its queue to its offer: what routing adds to a wait.
_OFFER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.intake = Counter(
            "ic_intake", "Inbound contacts taken in, by channel and outcome", ["channel", "outcome"], registry=r
        )
        self.decisions = Counter(
            "ic_routing_decisions",
            "Routing decisions: offers made, accepted, rejected, lapsed",
            ["decision"],
            registry=r,
        )
        self.offer_wait = Histogram(
            "ic_routing_offer_wait_seconds",
            "Time from entering the queue to being offered, per offer",
            ["queue"],
            buckets=_OFFER_BUCKETS,
            registry=r,
        )
        self.errors = Counter("ic_http_errors", "API and webhook refusals and failures, by code", ["code"], registry=r)
        self.queue_depth = Gauge(
            "ic_queue_waiting", "Interactions waiting, per queue and channel", ["queue", "channel"], registry=r
        )
        self.oldest_wait = Gauge(
            "ic_queue_oldest_wait_seconds",
            "The longest current wait, per queue and channel",
            ["queue", "channel"],
            registry=r,
        )
        self.agents = Gauge("ic_agents", "Agents by state", ["state"], registry=r)
        self.sockets = Gauge("ic_websocket_connections", "Open WebSockets, by kind", ["kind"], registry=r)
        self.lag = Gauge(
            "ic_event_log_lag", "Events in a consumer's stream it has not handled yet", ["consumer"], registry=r
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
