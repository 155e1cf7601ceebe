"""A local stand-in for Twilio's REST API: records every request, answers like Twilio.

Messages (SMS), Calls (create, update) and Conferences (update; participants create,
update, delete). ``fail_with`` makes every request fail with that status; ``fail_paths``
fails only the requests whose ``"METHOD /path"`` contains a key, e.g.
``{"Participants.json": 400}`` (dialling anyone into a conference) or
``{"DELETE ": 404}`` (removing a participant who has already left)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.sandbox.twilio_api import message_resource

ACCOUNT = "/2010-04-01/Accounts/{account}"

# What Twilio says when it refuses, by resource (the SMS tests look for "unsubscribed").
_REFUSALS = {
    "message": (21610, "Attempt to send to unsubscribed recipient"),
    "call": (21220, "Call is not in-progress. Cannot redirect."),
    "participant": (20404, "The requested resource was not found"),
    "conference": (20404, "The requested resource was not found"),
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict[str, str]
    authorization: str | None
    # Every value of every field, in order: list parameters (StatusCallbackEvent) repeat their key.
    fields: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class TwilioStub:
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_with: int | None = None
    fail_paths: dict[str, int] = field(default_factory=dict)
    server: TestServer | None = None
    # Conference SIDs by the friendly name participants were dialled into (Twilio makes one per name).
    conferences: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def sent(self, method: str, path_contains: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and path_contains in r.path]

    async def _record(self, request: web.Request) -> dict[str, str]:
        posted = await request.post()
        fields: dict[str, list[str]] = {}
        for key, value in posted.items():
            fields.setdefault(key, []).append(str(value))
        form = {key: values[-1] for key, values in fields.items()}
        authorization = request.headers.get("Authorization")
        self.requests.append(RecordedRequest(request.method, request.path, form, authorization, fields))
        return form

    def _refusal(self, request: web.Request, resource: str) -> web.Response | None:
        status = self.fail_with
        for fragment, failing in self.fail_paths.items():
            if fragment in f"{request.method} {request.path}":
                status = failing
        if status is None:
            return None
        code, message = _REFUSALS[resource]
        body: dict[str, Any] = {"code": code, "message": message, "status": status}
        return web.json_response(body, status=status)

    async def messages(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if (refused := self._refusal(request, "message")) is not None:
            return refused
        sid = "SM" + uuid.uuid4().hex
        return web.json_response(message_resource(sid, request.match_info["account"], form), status=201)

    async def create_call(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if (refused := self._refusal(request, "call")) is not None:
            return refused
        return web.json_response(self._call("CA" + uuid.uuid4().hex, request, form, "queued"), status=201)

    async def update_call(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if (refused := self._refusal(request, "call")) is not None:
            return refused
        status = form.get("Status", "in-progress")
        return web.json_response(self._call(request.match_info["call"], request, form, status))

    @staticmethod
    def _call(sid: str, request: web.Request, form: dict[str, str], status: str) -> dict[str, Any]:
        return {
            "sid": sid,
            "account_sid": request.match_info["account"],
            "to": form.get("To"),
            "from": form.get("From"),
            "status": status,
            "direction": "outbound-api",
        }

    async def create_participant(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if (refused := self._refusal(request, "participant")) is not None:
            return refused
        conference = request.match_info["conference"]
        if not conference.startswith("CF"):
            conference = self.conferences.setdefault(conference, "CF" + uuid.uuid4().hex)
        body = self._participant(request, conference, "CA" + uuid.uuid4().hex, form, "queued")
        return web.json_response(body, status=201)

    async def update_participant(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if (refused := self._refusal(request, "participant")) is not None:
            return refused
        match = request.match_info
        return web.json_response(self._participant(request, match["conference"], match["call"], form, "connected"))

    async def delete_participant(self, request: web.Request) -> web.Response:
        await self._record(request)
        if (refused := self._refusal(request, "participant")) is not None:
            return refused
        return web.Response(status=204)

    @staticmethod
    def _participant(
        request: web.Request, conference_sid: str, call_sid: str, form: dict[str, str], status: str
    ) -> dict[str, Any]:
        return {
            "account_sid": request.match_info["account"],
            "call_sid": call_sid,
            "conference_sid": conference_sid,
            "label": form.get("Label"),
            "status": status,
            "muted": form.get("Muted") == "true",
            "hold": form.get("Hold") == "true",
            "coaching": form.get("Coaching") == "true",
            "call_sid_to_coach": form.get("CallSidToCoach"),
            "start_conference_on_enter": form.get("StartConferenceOnEnter") == "true",
            "end_conference_on_exit": form.get("EndConferenceOnExit") == "true",
        }

    async def update_conference(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if (refused := self._refusal(request, "conference")) is not None:
            return refused
        sid = request.match_info["conference"]
        friendly = next((name for name, known in self.conferences.items() if known == sid), sid)
        body = {
            "sid": sid,
            "account_sid": request.match_info["account"],
            "friendly_name": friendly,
            "status": form.get("Status", "in-progress"),
        }
        return web.json_response(body)

    def app(self) -> web.Application:
        app = web.Application()
        router = app.router
        router.add_post(f"{ACCOUNT}/Messages.json", self.messages)
        router.add_post(f"{ACCOUNT}/Calls.json", self.create_call)
        router.add_post(ACCOUNT + "/Calls/{call}.json", self.update_call)
        router.add_post(ACCOUNT + "/Conferences/{conference}.json", self.update_conference)
        router.add_post(ACCOUNT + "/Conferences/{conference}/Participants.json", self.create_participant)
        router.add_post(ACCOUNT + "/Conferences/{conference}/Participants/{call}.json", self.update_participant)
        router.add_delete(ACCOUNT + "/Conferences/{conference}/Participants/{call}.json", self.delete_participant)
        return app
