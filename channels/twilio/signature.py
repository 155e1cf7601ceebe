"""Checking ``X-Twilio-Signature`` exactly as Twilio computes it: over the public URL it
called (our configured base URL, since a proxy may stand in front) and the form fields."""

from __future__ import annotations

import hmac

from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from interaction_center.domain.errors import Forbidden, InvalidInput
from interaction_center.domain.untrusted import require_charset, require_storable

_REFUSED = "missing or invalid Twilio signature"


class TwilioSignatureCheck:
    def __init__(self, auth_token: str, public_base_url: str) -> None:
        self._validator = RequestValidator(auth_token)
        self._base = public_base_url.rstrip("/")

    def url_for(self, request: web.Request) -> str:
        return self._base + request.rel_url.path_qs

    async def verified_form(self, request: web.Request) -> MultiDict[str]:
        """The request's form fields, returned only once the signature over them holds
        and they can be stored."""
        signature = request.headers.get("X-Twilio-Signature", "")
        # Twilio's signatures are base64; header bytes that were not UTF-8 arrive as lone
        # surrogates, which no HMAC comparison can take.
        if not signature.isascii():
            raise Forbidden(_REFUSED, code="twilio.bad_signature")
        require_charset(request.charset)
        try:
            posted = await request.post()
        except (ValueError, LookupError) as exc:  # LookupError: a multipart part's unknown charset
            raise InvalidInput("the body is not a readable form", code="webhook.bad_form") from exc
        form: MultiDict[str] = MultiDict()
        for key, value in posted.items():
            if not isinstance(value, str):
                # Twilio never uploads files: a part like that is not Twilio's.
                raise Forbidden(_REFUSED, code="twilio.bad_signature")
            form.add(key, value)
        if not signature or not self._holds(self.url_for(request), form, signature):
            raise Forbidden(_REFUSED, code="twilio.bad_signature")
        require_storable(form.items())
        return form

    def _holds(self, url: str, form: MultiDict[str], signature: str) -> bool:
        try:
            return self._matches(url, form, signature)
        except UnicodeEncodeError:
            # Twilio signs UTF-8: a form with text that has none was not signed by Twilio.
            return False

    def _matches(self, url: str, form: MultiDict[str], signature: str) -> bool:
        # Twilio signs the URL it called, which is ours as configured: one HMAC settles a
        # genuine webhook. The library's full check (two more, for the URL with and without
        # its port) is left for the ones that do not match at once.
        expected = self._validator.compute_signature(url, form)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return True
        return bool(self._validator.validate(url, form, signature))
