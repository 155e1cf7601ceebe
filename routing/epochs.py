"""Which queues changed since an agent last derived something from them.

An agent keeps lists worked out from its queues (the buckets of waiting entries it may take
from, the pools of ready agents it joins), stamped with the epoch they were made at. A new
bucket or pool bumps the epoch; the agent's lists are remade only if one of its own queues
changed since, so a change in one queue costs the agents of that queue, not every agent.
"""

from __future__ import annotations

from collections.abc import Iterable


class QueueEpochs:
    __slots__ = ("_changed_at", "now")

    def __init__(self) -> None:
        self.now = 0
        self._changed_at: dict[str, int] = {}  # queue -> the epoch of its last change

    def bump(self, queue: str) -> None:
        self.now += 1
        self._changed_at[queue] = self.now

    def stale(self, made_at: int, queues: Iterable[str]) -> bool:
        """Whether lists made at ``made_at`` (-1: never, or for another profile) from these
        queues must be made again."""
        if made_at < 0:
            return True
        changed_at = self._changed_at
        # A loop, not any() over a generator: asked at an agent's first decision after any
        # queue changed, which at 10,000 agents is thousands of times.
        for queue in queues:  # noqa: SIM110
            if changed_at.get(queue, 0) > made_at:
                return True
        return False
