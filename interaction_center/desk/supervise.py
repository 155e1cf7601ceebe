"""What supervisors do to the floor (the API's supervisor actions): set an agent's status,
move an interaction to another queue or agent, change a waiting one's priority, take over
an agent's interaction. Each is an event naming the supervisor."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.desk.work import AcceptedListener, AgentWork
from interaction_center.dispatch.dispatcher import Dispatcher, agent_actor
from interaction_center.domain.errors import Conflict, InvalidInput, StaleState
from interaction_center.domain.model import Channel, InteractionState
from interaction_center.domain.wire import InteractionBody
from routing import AgentState
from storage import interactions as store
from storage.models import Agent

PRIORITIES = range(-1000, 1001)


class Supervision:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        work: AgentWork,
        on_taken: list[AcceptedListener],
    ) -> None:
        self._sessions = sessions
        self._dispatcher = dispatcher
        self._work = work
        # Told of an interaction a supervisor took over, as of one an agent accepted (web
        # chat tells its visitor who has them now).
        self._on_taken = on_taken

    async def set_status(self, supervisor: Agent, agent_id: str, status: AgentState, reason: str | None) -> Agent:
        return await self._dispatcher.set_status(agent_id, status, reason, agent_actor(supervisor.id))

    async def move(
        self, supervisor: Agent, interaction_id: str, *, queue: str | None, to_agent: str | None, note: str | None
    ) -> InteractionBody:
        """A waiting or assigned interaction to another queue, or reserved for an agent."""
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
        if interaction.state not in (InteractionState.QUEUED, InteractionState.ASSIGNED):
            raise Conflict(
                f"the interaction is {interaction.state}: only a waiting or assigned one moves (an offer lasts"
                " seconds: try again)",
                code="interaction.not_movable",
            )
        await self._work.route_again(agent_actor(supervisor.id), interaction, queue=queue, to_agent=to_agent, note=note)
        return await self._work.interaction(supervisor, interaction_id)

    async def set_priority(self, supervisor: Agent, interaction_id: str, priority: int) -> InteractionBody:
        """A waiting interaction's priority: it keeps its place among equals, and is offered
        before (or after) those of lower (or higher) priority."""
        if priority not in PRIORITIES:
            raise InvalidInput("priority is a whole number from -1000 to 1000", code="interaction.bad_priority")
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
        data = {"from": interaction.priority, "to": priority}
        actor = agent_actor(supervisor.id)
        if not await self._dispatcher.move(interaction.id, {"priority": priority}, data, actor, "priority_changed"):
            raise StaleState(f"the interaction is {interaction.state}: only a waiting one's priority changes")
        return await self._work.interaction(supervisor, interaction_id)

    async def take_over(self, supervisor: Agent, interaction_id: str) -> InteractionBody:
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
        if interaction.channel == Channel.VOICE:
            raise Conflict("a call is joined by barging in (.../call/monitor)", code="interaction.voice")
        taken = await self._dispatcher.take_over(interaction_id, supervisor.id)
        for listener in self._on_taken:
            await listener(taken, supervisor)
        return await self._work.interaction(supervisor, interaction_id)
