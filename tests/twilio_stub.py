"""A local stand-in for Twilio's REST API: records every request, answers like Twilio."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict[str, str]
    authorization: str | None


@dataclass
class TwilioStub:
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_with: int | None = None
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def messages(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(RecordedRequest(request.method, request.path, form, request.headers.get("Authorization")))
        if self.fail_with is not None:
            body: dict[str, Any] = {
                "code": 21610,
                "message": "Attempt to send to unsubscribed recipient",
                "status": self.fail_with,
            }
            return web.json_response(body, status=self.fail_with)
        sid = "SM" + uuid.uuid4().hex
        return web.json_response(
            {
                "sid": sid,
                "account_sid": request.match_info["account"],
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
            },
            status=201,
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self.messages)
        return app
