"""DEMO ONLY: a stand-in for the part of Twilio's REST API the SMS channel uses (creating a
message), served by the service itself under ``/demo/twilio``. The message lands in the
outbox, and its delivery report comes back as Twilio's would: posted to the status
callback, signed with the account's auth token over the URL the service checks."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from channels.sandbox.outbox import Outbox

log = logging.getLogger(__name__)

PREFIX = "/demo/twilio"
# What the SMS sender is given as its account: the sandbox's, plainly not a real one.
DEMO_ACCOUNT_SID = "AC" + "de70" * 8
REPORT_AFTER_SECONDS = 1.0


def message_resource(sid: str, account: str, form: dict[str, str]) -> dict[str, Any]:
    """A message just created, as Twilio's REST API answers with it."""
    return {
        "sid": sid,
        "account_sid": account,
        "to": form.get("To"),
        "from": form.get("From"),
        "body": form.get("Body"),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
    }


class TwilioStandIn:
    def __init__(self, outbox: Outbox, auth_token: str, local_base: str, public_base: str) -> None:
        self._outbox = outbox
        self._validator = RequestValidator(auth_token)
        # Delivery reports are posted to the service on this machine (``local_base``) and
        # signed over the URL it checks signatures against (``public_base``).
        self._local, self._public = local_base, public_base
        self._reports: set[asyncio.Task[None]] = set()

    def register(self, app: web.Application) -> None:
        app.router.add_post(PREFIX + "/2010-04-01/Accounts/{account}/Messages.json", self._message)

    async def _message(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        sid = "SM" + uuid.uuid4().hex
        await self._outbox.add("sms", form.get("To", ""), form.get("From", ""), form.get("Body", ""))
        log.info("DEMO SANDBOX: SMS to %s kept in the outbox, not sent", form.get("To", ""))
        callback = form.get("StatusCallback", "")
        if callback.startswith(self._public):
            task = asyncio.create_task(self._report(callback, sid, form))
            self._reports.add(task)
            task.add_done_callback(self._reports.discard)
        return web.json_response(message_resource(sid, request.match_info["account"], form), status=201)

    async def _report(self, callback: str, sid: str, form: dict[str, str]) -> None:
        # As Twilio's, a moment after the message was created: the sender stores the
        # message's SID once this answer reaches it, and a report before that finds nothing.
        await asyncio.sleep(REPORT_AFTER_SECONDS)
        report = {
            "MessageSid": sid,
            "MessageStatus": "delivered",
            "To": form.get("To", ""),
            "From": form.get("From", ""),
        }
        headers = {"X-Twilio-Signature": self._validator.compute_signature(callback, report)}
        local = self._local + callback.removeprefix(self._public)
        try:
            async with aiohttp.ClientSession() as session, session.post(local, data=report, headers=headers) as answer:
                if answer.status >= 300:
                    log.warning("DEMO SANDBOX: the delivery report of %s got HTTP %s", sid, answer.status)
        except aiohttp.ClientError as exc:
            log.warning("DEMO SANDBOX: the delivery report of %s could not be posted: %s", sid, exc)

    async def close(self) -> None:
        for task in list(self._reports):
            task.cancel()
        await asyncio.gather(*self._reports, return_exceptions=True)
