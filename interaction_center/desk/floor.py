"""The supervisors' live floor over their WebSocket: a snapshot of every queue's figures
and every agent's state on subscribing, then what changed, at most every
``FLOOR_INTERVAL`` seconds, numbered; a supervisor who reconnects with the last number
they saw gets the changes they missed (or a fresh snapshot, once those are gone).

The figures are those of ``GET /api/v1/queues`` and ``GET /api/v1/agents``, read again
while anyone is subscribed; a row is sent when it differs from the last sent."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from interaction_center.desk.accounts import Accounts
from interaction_center.dispatch.notifier import AgentHub
from interaction_center.dispatch.statistics import Statistics
from interaction_center.domain.errors import Forbidden
from interaction_center.domain.model import Role
from interaction_center.domain.wire import FloorAgentBody, FloorChangesFrame, FloorFrame, QueueStatsBody

log = logging.getLogger(__name__)

FLOOR_INTERVAL = 0.5
# Change frames kept for supervisors who reconnect: a minute's worth at the fastest.
KEPT = 120
_SUPERVISING = (Role.SUPERVISOR, Role.ADMIN)


class FloorFeed:
    def __init__(self, statistics: Statistics, accounts: Accounts, hub: AgentHub) -> None:
        self._statistics = statistics
        self._accounts = accounts
        self._hub = hub
        self._subscribers: set[str] = set()
        self._queues: dict[tuple[str, str], QueueStatsBody] = {}
        self._agents: dict[str, FloorAgentBody] = {}
        self._seq = 0
        self._sent: deque[FloorChangesFrame] = deque(maxlen=KEPT)
        self._lock = asyncio.Lock()

    async def subscribe(self, supervisor_id: str, since: int | None) -> None:
        """The supervisor's sockets get the floor: the changes after ``since`` when they
        are all still kept, else a snapshot; then every change."""
        async with self._lock:
            await self._refresh()
            if not self._supervises(supervisor_id):
                raise Forbidden("the floor is for supervisors", code="auth.role")
            self._subscribers.add(supervisor_id)
            missed = [frame for frame in self._sent if since is not None and frame["seq"] > since]
            resumable = since is not None and since <= self._seq and (since == self._seq or (
                bool(missed) and missed[0]["seq"] == since + 1))  # fmt: skip
            if resumable:
                for frame in missed:
                    self._hub.push(supervisor_id, frame)
                return
            snapshot: FloorFrame = {
                "type": "floor",
                "seq": self._seq,
                "queues": list(self._queues.values()),
                "agents": list(self._agents.values()),
            }
            self._hub.push(supervisor_id, snapshot)

    def _supervises(self, agent_id: str) -> bool:
        agent = self._agents.get(agent_id)
        return agent is not None and agent["role"] in _SUPERVISING

    def unsubscribe(self, supervisor_id: str) -> None:
        self._subscribers.discard(supervisor_id)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(FLOOR_INTERVAL)
            self._subscribers &= set(self._hub.owners())
            if not self._subscribers:
                continue
            try:
                async with self._lock:
                    await self._refresh()
            except Exception:
                log.exception("the floor could not be read; again in %.1f s", FLOOR_INTERVAL)

    async def _refresh(self) -> None:
        """Read the floor; what differs from the last read is a change frame, sent."""
        queues = {(row["queue"], row["channel"]): row for row in (await self._statistics.queues())["queues"]}
        active = [row for row in await self._accounts.all() if row.active]
        agents = {row["id"]: row for row in await self._statistics.agents(active)}
        changed_queues = [row for key, row in queues.items() if self._queues.get(key) != row]
        changed_agents = [row for key, row in agents.items() if self._agents.get(key) != row]
        removed = sorted(self._agents.keys() - agents.keys())
        self._queues, self._agents = queues, agents
        # A subscriber demoted or deactivated since they subscribed sees the floor no more.
        self._subscribers = {s for s in self._subscribers if self._supervises(s)}
        if not changed_queues and not changed_agents and not removed:
            return
        self._seq += 1
        frame: FloorChangesFrame = {
            "type": "floor_changes",
            "seq": self._seq,
            "queues": changed_queues,
            "agents": changed_agents,
            "removed_agents": removed,
        }
        self._sent.append(frame)
        for supervisor_id in self._subscribers:
            self._hub.push(supervisor_id, frame)
