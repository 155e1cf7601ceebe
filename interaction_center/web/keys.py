"""Typed application and request keys."""

from __future__ import annotations

from aiohttp import web

from interaction_center.services import Services

SERVICES = web.AppKey("services", Services)
