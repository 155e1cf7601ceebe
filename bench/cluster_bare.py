"""The bare handler ``bench.cluster`` puts behind HAProxy, in a process of its own:
``bench.intake_bare``'s SMS form handler (empty TwiML), and a ``GET /readyz`` answering
200 as the service's does, without which HAProxy's health checks would take it out.

    python -m bench.cluster_bare sms PORT
"""

from __future__ import annotations

import sys

from aiohttp import web

from bench.intake_bare import _sms


async def _ready(request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def _app() -> web.Application:
    app = web.Application()
    app.router.add_post("/twilio/sms", _sms)
    app.router.add_get("/readyz", _ready)
    return app


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "sms":
        raise SystemExit("usage: python -m bench.cluster_bare sms PORT")
    web.run_app(_app(), host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=None, shutdown_timeout=2.0)
