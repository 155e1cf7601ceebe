"""What each queue's figures say of its agents, worked out in one pass over them: reading
them never scans storage. (What was answered or abandoned is counted from the event log,
outside the engine.)"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from routing.agents import EngineAgent
from routing.types import AgentState, QueueStats


def occupancy_of(agent: EngineAgent) -> float | None:
    """The agent's occupancy as every figure counts it (``EngineAgent.occupancy``: the
    busiest of its channels' shares, so 2 of 3 chats and 1 of 5 SMS make 2/3, and a call,
    exclusive, makes 1); None offline, where it counts in no queue's figure."""
    return None if agent.state is AgentState.OFFLINE else agent.occupancy()


@dataclass(slots=True)
class Staffing:
    """A queue's agents by state, and the occupancy of those signed in: the same for each
    of the queue's channels."""

    by_state: Counter[str] = field(default_factory=lambda: Counter({state.value: 0 for state in AgentState}))
    load: float = 0.0
    signed_in: int = 0

    @property
    def occupancy(self) -> float | None:
        return self.load / self.signed_in if self.signed_in else None

    def figures(self, queue: str, channel: str, waiting: int, longest_wait: float) -> QueueStats:
        return QueueStats(queue, channel, waiting, longest_wait, dict(self.by_state), self.occupancy)

    @staticmethod
    def of_queues(agents: Iterable[EngineAgent]) -> dict[str, Staffing]:
        """Per queue, in one pass: each agent's occupancy worked out once, however many
        queues it serves."""
        staffing: dict[str, Staffing] = {}
        for agent in agents:
            load = occupancy_of(agent)
            for queue in agent.memberships:
                staff = staffing.get(queue)
                if staff is None:
                    staff = staffing[queue] = Staffing()
                staff.by_state[agent.state] += 1
                if load is not None:
                    staff.load += load
                    staff.signed_in += 1
        return staffing
