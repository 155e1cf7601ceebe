"""Where a call is in its flow, kept between webhooks (as JSON, by the voice channel's
storage) so that any instance can answer the next one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class UnknownStep(ValueError):
    """A call's state that the flows cannot continue: its flow or node is gone (the
    configuration changed under a call) or is not waiting for the caller, or the stored
    state is not one. The webhook apologises and hangs up."""


@dataclass(frozen=True)
class CallState:
    flow: str
    # The node the call is at: between webhooks, the menu or collect whose answer is awaited.
    node: str
    # What collect nodes stored, by attribute name.
    attributes: Mapping[str, str] = field(default_factory=dict)
    # Failed attempts (invalid or silent) at ``node`` so far.
    retries: int = 0
    # Who a lookup found the caller to be.
    customer_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "node": self.node,
            "attributes": dict(self.attributes),
            "retries": self.retries,
            "customer_id": self.customer_id,
        }

    @classmethod
    def from_json(cls, data: Any) -> CallState:
        """The state ``to_json`` gave; UnknownStep for anything else."""
        if not isinstance(data, dict):
            raise UnknownStep(f"a call's state is a JSON object, not {type(data).__name__}")
        flow, node = data.get("flow"), data.get("node")
        attributes = data.get("attributes", {})
        retries = data.get("retries", 0)
        customer_id = data.get("customer_id")
        if (
            not isinstance(flow, str)
            or not isinstance(node, str)
            or not isinstance(attributes, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())
            or not isinstance(retries, int)
            or isinstance(retries, bool)
            or retries < 0
            or not (customer_id is None or isinstance(customer_id, str))
        ):
            raise UnknownStep(f"not a call's state: {data!r}")
        return cls(flow, node, dict(attributes), retries, customer_id)
