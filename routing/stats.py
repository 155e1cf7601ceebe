"""Live counters per queue and channel, kept by the engine as things happen, so reading
them never scans storage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from routing.agents import EngineAgent
from routing.types import AgentState, QueueEntry, QueueStats


@dataclass(slots=True)
class Counters:
    answered: int = 0
    answered_within_target: int = 0
    total_answer_seconds: float = 0.0
    abandoned: int = 0
    abandoned_after_target: int = 0
    sla_breaches: int = 0

    def answer(self, entry: QueueEntry, now: float) -> None:
        self.answered += 1
        self.total_answer_seconds += max(0.0, now - entry.enqueued_at)
        if entry.answer_deadline is None or now <= entry.answer_deadline:
            self.answered_within_target += 1

    def abandon(self, entry: QueueEntry, now: float) -> None:
        self.abandoned += 1
        if entry.answer_deadline is not None and now > entry.answer_deadline:
            self.abandoned_after_target += 1

    def figures(self, queue: str, channel: str, waiting: int, longest_wait: float, staff: Staffing) -> QueueStats:
        fair = self.answered + self.abandoned_after_target
        return QueueStats(
            queue=queue,
            channel=channel,
            waiting=waiting,
            longest_wait_seconds=longest_wait,
            answered=self.answered,
            answered_within_target=self.answered_within_target,
            abandoned=self.abandoned,
            abandoned_after_target=self.abandoned_after_target,
            sla_breaches=self.sla_breaches,
            average_speed_of_answer_seconds=self.total_answer_seconds / self.answered if self.answered else None,
            service_level=self.answered_within_target / fair if fair else None,
            agents=dict(staff.by_state),
            occupancy=staff.occupancy,
        )


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

    @staticmethod
    def of_queues(agents: Iterable[EngineAgent]) -> dict[str, Staffing]:
        """Per queue, in one pass: each agent's occupancy worked out once, however many
        queues it serves."""
        staffing: dict[str, Staffing] = {}
        for agent in agents:
            load = None if agent.state is AgentState.OFFLINE else agent.occupancy()
            for queue in agent.memberships:
                staff = staffing.get(queue)
                if staff is None:
                    staff = staffing[queue] = Staffing()
                staff.by_state[agent.state] += 1
                if load is not None:
                    staff.load += load
                    staff.signed_in += 1
        return staffing
