"""What the chat socket needs of the service behind it: the channel states it here and the
application's chat desk implements it, so the adapter knows nothing of storage or routing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from interaction_center.domain.model import Attachment
from interaction_center.domain.wire import ChatLine

# The longest chat message, the visitor's and the agent's alike.
MAX_MESSAGE_CHARS = 4000
# A rating is a score from 1 to 5 and, if the visitor likes, a comment this long at most.
SCORES = range(1, 6)
MAX_COMMENT_CHARS = 1000
# A file a visitor sends: one at a time, this large at most.
MAX_FILE_BYTES = 10 * 2**20


@dataclass(frozen=True)
class Visitor:
    session_id: str
    display_name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Resumed:
    """A session opened again by its token: its latest interaction (if any), the agent who
    has it (by display name, while they do), whether the visitor rated it, and the
    conversation as the visitor sees it."""

    visitor: Visitor
    interaction_id: str | None
    state: str | None
    agent_name: str | None
    rated: bool
    messages: list[ChatLine]


class Received(Protocol):
    @property
    def interaction_id(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def created(self) -> bool: ...


class ChatService(Protocol):
    @property
    def enabled(self) -> bool: ...

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The sites whose pages may embed the chat, besides the service's own."""
        ...

    async def start(self, name: str, email: str | None, phone: str | None) -> tuple[str, Visitor]: ...

    async def resume(self, token: str) -> Resumed: ...

    async def visitor(self, token: str) -> Visitor:
        """Whose session the token opens (``Unauthorized`` for none)."""
        ...

    async def receive(
        self, visitor: Visitor, client_id: str, body: str, files: tuple[Attachment, ...] = ()
    ) -> Received: ...

    async def customer_typing(self, visitor: Visitor) -> None: ...

    async def end(self, visitor: Visitor) -> None: ...

    async def rate(self, visitor: Visitor, score: int, comment: str | None) -> str:
        """Record the visitor's rating of their latest interaction; returns its id."""
        ...

    def connected(self, visitor: Visitor, socket: Any) -> None: ...

    def left(self, visitor: Visitor, socket: Any) -> None: ...

    def tell_place(self, session_id: str) -> None: ...
