"""What each route of the API declares beside its handler: the body it reads, its query
parameters, the shape of its answer and the refusals it may give. ``web.openapi`` makes
the OpenAPI document from these and the route table, so the document is never written by
hand and cannot leave a route out unnoticed (``tests/web/test_openapi.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

# A non-JSON answer (Prometheus' text): declared with this as its shape.
PlainText = str
# A file, in the type it was sent with (an attachment): declared with this as its shape.
FileContent = bytes

Handler = TypeVar("Handler", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


@dataclass(frozen=True)
class Contract:
    """``answer``: the shape (a ``TypedDict`` of ``domain/wire.py``) sent with ``status``;
    ``body``: the request body's shape; ``query``: a ``TypedDict`` of the query parameters
    it reads (each sent as text); ``errors``: the statuses of the refusals its service may
    give, beyond those ``web.openapi`` knows from the rest (401 and 403 where roles are
    declared, 400 for input that cannot be read, 413 and 415 for a body)."""

    answer: Any
    status: int = 200
    body: Any = None
    query: Any = None
    errors: tuple[int, ...] = ()
    # The body may come as multipart/form-data instead: its fields as form fields, and
    # files under this name.
    files: str | None = None


def declare(
    answer: Any,
    *,
    status: int = 200,
    body: Any = None,
    query: Any = None,
    errors: tuple[int, ...] = (),
    files: str | None = None,
) -> Callable[[Handler], Handler]:
    """Put above ``@allow(...)``, under the route: the contract is read from the handler
    the route table holds."""

    def mark(handler: Handler) -> Handler:
        handler.contract = Contract(answer, status, body, query, errors, files)  # type: ignore[attr-defined]
        return handler

    return mark


def contract_of(handler: Callable[..., Any]) -> Contract | None:
    found = getattr(handler, "contract", None)
    return found if isinstance(found, Contract) else None
