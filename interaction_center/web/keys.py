"""Typed application and request keys."""

from __future__ import annotations

from aiohttp import web

from interaction_center.desk.accounts import Account
from interaction_center.services import Services

SERVICES = web.AppKey("services", Services)
# Who made the request, once ``web.auth.allow`` (or a login) knows: the audit log's actor.
ACCOUNT = web.RequestKey("account", Account)
# What the audit log keeps of a request beyond its route (a login's username).
AUDIT_DETAIL = web.RequestKey("audit_detail", dict)
