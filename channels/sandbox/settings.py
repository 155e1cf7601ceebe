"""``[demo]``: the demo sandbox (``channels.sandbox``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSettings:
    # DEMO ONLY: SMS replies go to a built-in stand-in for Twilio's REST API and email to a
    # built-in SMTP sink on smtp.relay_host:relay_port; nothing reaches a customer. Refused
    # with a Twilio account or a relay that is not on this machine.
    sandbox: bool = False
