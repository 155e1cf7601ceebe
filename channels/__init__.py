"""Channel adapters: each translates between its transport and ``InboundContact`` /
``OutboundMessage``, and holds no routing or storage logic."""
