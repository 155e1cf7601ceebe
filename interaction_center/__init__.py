"""Interaction Center: the domain, the service that wires channels, routing and storage,
and the agent / supervisor web application."""

__version__ = "0.1.0"
