"""Live counters per queue and channel, kept by the engine as things happen, so reading
them never scans storage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

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

    def figures(
        self,
        queue: str,
        channel: str,
        waiting: int,
        longest_wait: float,
        agents: Iterable[EngineAgent],
    ) -> QueueStats:
        by_state: Counter[str] = Counter({state.value: 0 for state in AgentState})
        loads = []
        for agent in agents:
            by_state[agent.state] += 1
            if agent.state is not AgentState.OFFLINE:
                loads.append(agent.occupancy())
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
            agents=dict(by_state),
            occupancy=sum(loads) / len(loads) if loads else None,
        )
