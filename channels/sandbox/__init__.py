"""DEMO ONLY: stand-ins for the providers outbound messages go to, so a demo's replies work
without a Twilio account or a mail relay (``[demo] sandbox = true``)."""
