"""An agent's presence, from their live channels and their logins:

- their last socket closing sets an available agent away ("disconnected") at once: their
  offers go back, and nothing more is offered to a desk nobody watches;
- a socket of theirs opening within ``routing.disconnect_grace_seconds`` (a dropped
  network, a reloaded page) makes them available again, as they were;
- past it their session is over: offline ("disconnected");
- logging out ends it at once, unless another login of theirs is still live: their
  sockets are closed and they are offline ("logged_out").

The grace timers are this process's, as are the sockets they watch. With several
instances an agent's desk may be open on another one (``dispatch/membership.py``): a
socket closing here, or a grace ending, changes nothing while one is; and the agents whose
desks were on an instance that died are disconnected here, by the instance that found it
gone. A timer dies with its process (stopped, or killed): every instance sweeps storage
for agents disconnected longer than the grace, with a desk open nowhere, and ends their
sessions as the timer would have."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from interaction_center.dispatch.dispatcher import DISCONNECTED, Dispatcher, agent_actor
from interaction_center.dispatch.membership import AGENT, Membership, member
from interaction_center.dispatch.notifier import AgentHub
from interaction_center.domain.json_text import dumps, loads
from interaction_center.domain.model import SYSTEM, Actor
from interaction_center.domain.stamps import utcnow
from storage.models import Agent

log = logging.getLogger(__name__)

# How often storage is swept for sessions whose grace timer died with its process, and
# how long past the grace one must be (the timer's own instance ends it first).
SWEEP_SECONDS = 5.0

LOGGED_OUT = "logged_out"
# The close code of the sockets of a session that ended (4000-4999: the application's).
SESSION_ENDED_CLOSE = 4001


class Presence:
    def __init__(self, dispatcher: Dispatcher, hub: AgentHub, grace_seconds: float, membership: Membership) -> None:
        self._dispatcher = dispatcher
        self._hub = hub
        self._membership = membership
        # Set by the wiring when other instances may hold the agent's sockets too: hands
        # (agent id, what to close) to them (dispatch/fanout.py).
        self.relay_close: Callable[[str, str], None] | None = None
        self._grace = grace_seconds
        self._timers: dict[str, asyncio.Task[None]] = {}

    async def connected(self, agent_id: str) -> None:
        """A socket of the agent's is open (attached to the hub)."""
        self._stop_timer(agent_id)
        await self._membership.held(member(AGENT, agent_id))
        await self._dispatcher.agent_reconnected(agent_id)

    async def disconnected(self, agent_id: str) -> None:
        """The agent's last socket here closed."""
        await self._membership.released(member(AGENT, agent_id))
        if self._hub.connected(agent_id):
            # Back here while the record was written: recorded again, in that order.
            await self._membership.held(member(AGENT, agent_id))
        elif not await self._membership.elsewhere(member(AGENT, agent_id)) and not self._hub.connected(agent_id):
            await self._lost(agent_id)

    async def instance_gone(self, agent_ids: list[str]) -> None:
        """Another instance died holding these agents' desks (open on no other): each is
        disconnected, unless their desk reconnected here meanwhile."""
        for agent_id in agent_ids:
            if not self._hub.connected(agent_id):
                await self._lost(agent_id)

    async def rejoined(self, agent_ids: list[str]) -> None:
        """This instance lost its lease and took it again: any of these agents (their desks
        open here) that another instance disconnected meanwhile is back, as on a reconnect."""
        for agent_id in agent_ids:
            await self._dispatcher.agent_reconnected(agent_id)

    async def _lost(self, agent_id: str) -> None:
        """The agent's desk is open nowhere: away now, offline after the grace."""
        await self._dispatcher.agent_disconnected(agent_id)
        self._stop_timer(agent_id)
        self._timers[agent_id] = asyncio.create_task(self._end_after_grace(agent_id), name=f"presence-{agent_id}")

    async def run_sweeps(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:
                # Storage or Redis away: the next sweep finds the same agents.
                log.exception("sweep of disconnected agents failed")

    async def sweep(self) -> None:
        """End the sessions of agents disconnected longer than the grace whose timer is
        gone (its instance stopped or died) and whose desk is open nowhere."""
        before = utcnow() - timedelta(seconds=self._grace + SWEEP_SECONDS)
        for agent_id in await self._dispatcher.disconnected_before(before):
            if agent_id in self._timers or self._hub.connected(agent_id):
                continue
            if not await self._membership.elsewhere(member(AGENT, agent_id)):
                log.info("agent %s: disconnected past their grace, their timer gone: offline", agent_id)
                await self._dispatcher.session_ended(agent_id, DISCONNECTED, SYSTEM)

    async def logged_out(self, agent_id: str) -> None:
        """The agent's last live login ended (by their own hand)."""
        await self.session_ended(agent_id, LOGGED_OUT, agent_actor(agent_id))

    async def session_ended(self, agent_id: str, reason: str, actor: Actor) -> None:
        """The agent's session is over (logged out; deactivated or their password reset by
        an admin, ``desk.admin.LiveAgents``): offline, their sockets closed."""
        self._stop_timer(agent_id)
        await self._dispatcher.session_ended(agent_id, reason, actor)
        await self._close(agent_id, reason.replace("_", " "), only=None, but=None)

    async def login_ended(self, agent_id: str, login: str) -> None:
        """One login of the agent's ended (logged out) while another lives on: that
        login's sockets close, the agent's session goes on."""
        await self._close(agent_id, "logged out", only=login, but=None)

    async def other_logins_ended(self, agent_id: str, kept: str) -> None:
        """``desk.admin.LiveAgents``: every login of the agent's but ``kept`` was revoked
        (they changed their password): those logins' sockets close."""
        await self._close(agent_id, "password changed", only=None, but=kept)

    async def _close(self, agent_id: str, why: str, *, only: str | None, but: str | None) -> None:
        """The agent's sockets of login ``only`` (or of every login but ``but``; all when
        neither) closed, here and on every other instance."""
        if self.relay_close is not None:
            self.relay_close(agent_id, dumps({"why": why, "only": only, "but": but}))
        await self._hub.close_logins(agent_id, SESSION_ENDED_CLOSE, why.encode(), only=only, but=but)

    def closed_elsewhere(self, agent_id: str, order: str) -> None:
        """Another instance closed the agent's sockets (``_close``): theirs here close too."""
        data = loads(order)
        closing = self._hub.close_logins(
            agent_id, SESSION_ENDED_CLOSE, str(data["why"]).encode(), only=data["only"], but=data["but"]
        )
        self._hub.after_disconnect(closing)

    async def profile_changed(self, agent: Agent) -> None:
        """``desk.admin.LiveAgents``: routing takes the agent's new profile."""
        await self._dispatcher.profile_changed(agent)

    async def close(self) -> None:
        """The timers stopped (the service is stopping: another instance's sweep, or this
        one's next start, ends the sessions they were timing)."""
        timers = list(self._timers.values())
        self._timers.clear()
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)

    def _stop_timer(self, agent_id: str) -> None:
        timer = self._timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()

    async def _end_after_grace(self, agent_id: str) -> None:
        await asyncio.sleep(self._grace)
        del self._timers[agent_id]
        try:
            if self._hub.connected(agent_id) or await self._membership.elsewhere(member(AGENT, agent_id)):
                return
            await self._dispatcher.session_ended(agent_id, DISCONNECTED, SYSTEM)
        except Exception:
            # Storage or Redis away: the agent stays away, which already offers them nothing.
            log.exception("agent %s: could not be set offline after their grace", agent_id)
