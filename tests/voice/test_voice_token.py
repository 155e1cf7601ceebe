"""``GET /api/v1/voice/token``: the agent's Twilio Voice SDK token, or a clear refusal
when no account can sign one; ``GET /api/v1/voice`` says which, before asking."""

from __future__ import annotations

import time
from collections.abc import Callable

from twilio.jwt import Jwt

from interaction_center.settings.model import Settings
from tests.support import ACCOUNT_SID, AppFactory, login

API_KEY = "SK" + "2" * 32
SECRET = "a-secret-of-thirty-two-bytes-or-more-000"
APP = "AP" + "3" * 32


async def test_an_agent_gets_a_voice_token_for_their_client_identity(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    twilio = f'api_key_sid = "{API_KEY}"\napi_key_secret = "{SECRET}"\ntwiml_app_sid = "{APP}"'
    client = await app_factory(settings_factory(twilio=twilio))
    alice = await login(client, "alice")
    response = await client.get("/api/v1/voice/token", headers=alice)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["identity"] == "alice"
    payload = Jwt.from_jwt(body["token"], SECRET).payload
    assert payload["sub"] == ACCOUNT_SID and payload["iss"] == API_KEY
    assert payload["grants"]["identity"] == "alice"
    assert payload["grants"]["voice"] == {"incoming": {"allow": True}, "outgoing": {"application_sid": APP}}
    assert 3500 < payload["exp"] - time.time() <= 3600
    assert await (await client.get("/api/v1/voice", headers=alice)).json() == {
        "browser_calls": True,
        "call_controls": True,
    }
    assert (await client.get("/api/v1/voice/token")).status == 401


async def test_without_an_api_key_the_token_is_refused_clearly_and_the_setup_says_so(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(settings_factory())
    response = await client.get("/api/v1/voice/token", headers=await login(client, "alice"))
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "voice.not_configured"
    setup = await client.get("/api/v1/voice", headers=await login(client, "alice"))
    assert (setup.status, await setup.json()) == (200, {"browser_calls": False, "call_controls": True})
