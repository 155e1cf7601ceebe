"""JSON answers (interaction_center/web/bodies.py): written by orjson, as UTF-8 JSON that
reads back to what was answered, with the status and headers given; what orjson refuses is
written by the standard library."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from interaction_center.web.bodies import json_response
from tests.support import Client, login


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Zoë <b>", "n": [1, 2.5, None, True]},
        {"wide": 2**64 + 1},  # past orjson's 64 bits
        {1: "a key that is not a string"},
        [],
    ],
)
async def test_an_answer_is_utf8_json_of_what_was_answered(data: Any) -> None:
    async def handler(request: web.Request) -> web.Response:
        return json_response(data, status=201, headers={"X-Seen": "yes"})

    app = web.Application()
    app.router.add_get("/", handler)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/")
        raw = await response.read()
    assert response.status == 201
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Seen"] == "yes"
    assert json.loads(raw.decode("utf-8")) == json.loads(json.dumps(data))


async def test_the_api_answers_non_ascii_as_utf8_rather_than_escapes(client: Client) -> None:
    token = await login(client, "alice")
    response = await client.put("/api/v1/agents/me/status", json={"status": "away", "reason": "café"}, headers=token)
    raw = await response.read()
    assert response.status == 200, raw
    assert "café".encode() in raw and b"\\u00e9" not in raw
