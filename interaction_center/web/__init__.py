"""The aiohttp application: agent / supervisor API, WebSockets, webhooks, ops endpoints."""
