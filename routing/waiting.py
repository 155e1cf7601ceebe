"""The waiting entries, indexed so that finding the best one for an agent never scans them.

Entries sit in buckets keyed by (queue, channel, priority, required skills), each a line
ordered by enqueue time (a ``Line``: arrivals in order are appended, the rest go to a heap
beside them); an entry held for its preferred agent sits instead in one of that agent's own
lines, one per (queue, channel), ordered by priority, then enqueue time: the agent ranks its
queues by its own priorities, and may be able to take one channel and not another, so one
line for all would hide what it could take behind what it cannot. Items are never removed in
place: each placement of an entry stamps its item, and an item whose stamp is no longer
its entry's (the entry was offered, cancelled or moved since) is dropped when it surfaces.
Stamps are plain ints, not objects, so the items hold nothing the garbage collector must
walk (at 100,000 waiting, objects per entry make every full collection slower).
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Collection, Mapping
from itertools import count
from typing import Generic, TypeVar

from routing.agents import EngineAgent
from routing.epochs import QueueEpochs
from routing.types import QueueEntry, Skills

BucketKey = tuple[str, str, int, Skills]  # queue, channel, priority, required skills


_K = TypeVar("_K")  # what a line of waiting entries is ordered by


class Line(Generic[_K]):
    """Waiting entries' items (order, interaction id, stamp), best first. Most arrive in
    order (later than all before them), so they are appended to a deque and taken from its
    front at no cost however long the backlog; only an item out of order (an entry back from
    an offer, escalated, restored, or put back after a look past declines) goes to a heap
    beside it. The best item is the better of the two fronts."""

    __slots__ = ("_entries", "_heap", "_line", "_stamp_of")

    def __init__(self, entries: dict[str, QueueEntry], stamp_of: dict[str, int]) -> None:
        self._entries = entries  # the waiting entries and their stamps, shared by all lines
        self._stamp_of = stamp_of
        self._line: deque[tuple[_K, str, int]] = deque()
        self._heap: list[tuple[_K, str, int]] = []

    def push(self, item: tuple[_K, str, int]) -> None:
        line = self._line
        if not line or line[-1] < item:
            line.append(item)
        else:
            heapq.heappush(self._heap, item)

    def top_item(self) -> tuple[_K, str, int] | None:
        """The best live item, dropping the stale items in front of it."""
        line, heap, stamp_of = self._line, self._heap, self._stamp_of
        while line and stamp_of.get(line[0][1]) != line[0][2]:
            line.popleft()
        while heap and stamp_of.get(heap[0][1]) != heap[0][2]:
            heapq.heappop(heap)
        if heap and (not line or heap[0] < line[0]):
            return heap[0]
        return line[0] if line else None

    def top(self) -> QueueEntry | None:
        """The best live entry."""
        item = self.top_item()
        return None if item is None else self._entries[item[1]]

    def items(self) -> list[tuple[_K, str, int]]:
        """Every item, live or stale, in no order."""
        return [*self._line, *self._heap]

    def clear(self) -> None:
        """Drop every item: only when all are stale."""
        self._line.clear()
        self._heap.clear()

    def pop(self) -> tuple[_K, str, int]:
        """Take the best item out (its entry just seen by ``top``)."""
        line, heap = self._line, self._heap
        if heap and (not line or heap[0] < line[0]):
            return heapq.heappop(heap)
        return line.popleft()


Bucket = Line[float]  # by enqueue time
Declined = Mapping[str, Collection[str]]  # interaction id -> the agents that declined it
# How an agent ranks what it could take, smaller first: declined by it, its membership
# priority for the queue, the entry's priority (negated), enqueue time, then a tie-break.
_Rank = tuple[bool, int, int, float, str]

# Declines per agent are few. Looking past at most this many in one line keeps a decision
# cheap even for an agent that rejects everything; past them, the rest of that line ranks
# for it as if declined too.
PEEK_PAST_DECLINED = 16


class WaitingEntries:
    def __init__(self) -> None:
        self._entries: dict[str, QueueEntry] = {}
        self._stamp_of: dict[str, int] = {}
        self._stamps = count(1)
        self._reserved_for: dict[str, str] = {}  # interaction id -> the agent it is held for
        # Per agent, per (queue, channel).
        self._reserved: dict[str, dict[tuple[str, str], Line[tuple[int, float, str]]]] = {}
        # The buckets in the order made (never dropped), and each key's place among them:
        # agents name buckets by their place, so what they keep holds only ints (nothing for
        # the garbage collector to walk) and a decision hashes no key.
        self._buckets: list[Bucket] = []
        # Per bucket (by place), its live entries: an empty one is skipped unread, and its
        # stale items cleared (an entry offered as it arrives leaves one behind).
        self._live: list[int] = []
        self._bucket_at: dict[BucketKey, int] = {}
        self._queue_buckets: dict[str, list[BucketKey]] = {}
        # Buckets made per queue: an agent's list of the buckets it may take from is
        # recomputed when one of its queues has a new one.
        self._epochs = QueueEpochs()
        self._count: Counter[tuple[str, str]] = Counter()
        # Per channel, the entries in buckets (not held for an agent): an agent skips the
        # buckets of a channel with none, as a chat agent with no chat backlog does.
        self._bucketed: dict[str, int] = {}

    def __contains__(self, interaction_id: str) -> bool:
        return interaction_id in self._entries

    def get(self, interaction_id: str) -> QueueEntry | None:
        return self._entries.get(interaction_id)

    def place(self, entry: QueueEntry, reserved_for: str | None = None) -> None:
        """Add the entry to its bucket, or to the line of the agent it is held for."""
        iid = entry.interaction_id
        self._entries[iid] = entry
        stamp = self._stamp_of[iid] = next(self._stamps)
        self._count[(entry.queue, entry.channel)] += 1
        if reserved_for is not None:
            self._reserved_for[iid] = reserved_for
            lines = self._reserved.setdefault(reserved_for, {})
            line = lines.get((entry.queue, entry.channel))
            if line is None:
                line = lines[(entry.queue, entry.channel)] = Line(self._entries, self._stamp_of)
            line.push((entry.order_key, iid, stamp))
            return
        self._bucketed[entry.channel] = self._bucketed.get(entry.channel, 0) + 1
        key: BucketKey = (entry.queue, entry.channel, entry.priority, entry.skills)
        index = self._bucket_at.get(key)
        if index is None:
            index = self._bucket_at[key] = len(self._buckets)
            self._buckets.append(Line(self._entries, self._stamp_of))
            self._live.append(0)
            self._queue_buckets.setdefault(entry.queue, []).append(key)
            self._epochs.bump(entry.queue)
        self._live[index] += 1
        self._buckets[index].push((entry.enqueued_at, iid, stamp))

    def remove(self, interaction_id: str) -> QueueEntry:
        entry = self._entries.pop(interaction_id)
        del self._stamp_of[interaction_id]
        if self._reserved_for.pop(interaction_id, None) is None:
            self._bucketed[entry.channel] -= 1
            index = self._bucket_at[(entry.queue, entry.channel, entry.priority, entry.skills)]
            self._live[index] -= 1
            if not self._live[index]:
                self._buckets[index].clear()
        self._count[(entry.queue, entry.channel)] -= 1
        return entry

    def reserved_for(self, interaction_id: str) -> str | None:
        """The agent a waiting entry is held for, if any."""
        return self._reserved_for.get(interaction_id)

    def count(self, queue: str, channel: str) -> int:
        return self._count[(queue, channel)]

    def queue_size(self, queue: str) -> int:
        return sum(n for (q, _), n in self._count.items() if q == queue)

    def occupied(self) -> set[tuple[str, str]]:
        """The (queue, channel) pairs with entries waiting."""
        return {key for key, n in self._count.items() if n}

    def in_queue(self, queue: str) -> list[QueueEntry]:
        """The queue's entries, best first (a walk of its buckets and a sort: for views, not
        decisions)."""
        entries, stamp_of = self._entries, self._stamp_of
        found = [entries[iid] for iid in self._reserved_for if entries[iid].queue == queue]
        for key in self._queue_buckets.get(queue, ()):
            found += (
                entries[iid]
                for _, iid, stamp in self._buckets[self._bucket_at[key]].items()
                if stamp_of.get(iid) == stamp
            )
        return sorted(found, key=lambda e: e.order_key)

    def oldest(self, queue: str, channel: str) -> float | None:
        """The oldest enqueue time among the queue's bucket heads and reserved entries."""
        times = [
            head[0]
            for key in self._queue_buckets.get(queue, ())
            if key[1] == channel and (head := self._buckets[self._bucket_at[key]].top_item()) is not None
        ]
        for iid in self._reserved_for:
            entry = self._entries[iid]
            if entry.queue == queue and entry.channel == channel:
                times.append(entry.enqueued_at)
        return min(times, default=None)

    def best_for(self, agent: EngineAgent, declined: Declined, now: float) -> QueueEntry | None:
        """The best waiting entry for the agent: its reserved ones and the buckets it is
        eligible for, ranked by its queue priority, then the entry's priority, then time
        waited; an entry it declined (rejected or let lapse) after everything else it
        could take."""
        if agent.eligible_epoch != self._epochs.now:
            if self._epochs.stale(agent.eligible_epoch, agent.memberships):
                self._rebuild_eligible(agent)
            agent.eligible_epoch = self._epochs.now
        agent_id = agent.agent_id
        buckets = self._buckets
        # A bucket's head is ranked from its item (enqueue time, id) and the bucket's
        # priority: the entry itself, a cold object at 100,000 waiting, is read only for
        # the one chosen.
        best_bucket: tuple[_Rank, str] | None = None
        bucketed, live = self._bucketed, self._live
        # The channels it has room on with entries in buckets: a chat agent with no chat
        # backlog looks at no bucket.
        channels: tuple[str, ...] = ()
        for channel in agent.room:
            if bucketed.get(channel):
                channels += (channel,)
        # Groups in rank order (its queue priority, the entries' priority): once one gave an
        # entry it has not declined, no later one can give a better.
        for queue_priority, negated_priority, group in agent.eligible if channels else ():
            if best_bucket is not None and not best_bucket[0][0]:
                break
            for channel, delay, index in group:
                if channel not in channels or not live[index]:
                    continue
                bucket = buckets[index]
                head = bucket.top_item()
                if head is None or (delay and head[0] > now - delay):
                    continue
                enqueued_at, iid, _ = head
                refused = False
                # Most decisions have no declines to look past.
                if declined and agent_id in declined.get(iid, ()):
                    undeclined = self._undeclined(agent_id, bucket, self._entries[iid], declined)
                    if undeclined is not None and not (delay and undeclined.enqueued_at > now - delay):
                        enqueued_at, iid = undeclined.enqueued_at, undeclined.interaction_id
                    else:
                        refused = True
                rank = (refused, queue_priority, negated_priority, enqueued_at, iid)
                if best_bucket is None or rank < best_bucket[0]:
                    best_bucket = (rank, iid)
        best = self._best_reserved(agent, declined)
        if best_bucket is not None and (best is None or best_bucket[0] < best[0]):
            return self._entries[best_bucket[1]]
        return None if best is None else best[1]

    def only_one(self, entry: QueueEntry, agent: EngineAgent) -> bool:
        """Whether the entry, in a bucket, is the one waiting entry the agent could take (so
        ``best_for`` would find it or nothing), told without looking at any bucket."""
        if entry.interaction_id in self._reserved_for or agent.agent_id in self._reserved:
            return False
        bucketed, waiting = self._bucketed, 0
        for channel in agent.room:
            waiting += bucketed.get(channel, 0)
        return waiting == 1

    def _best_reserved(self, agent: EngineAgent, declined: Declined) -> tuple[_Rank, QueueEntry] | None:
        """The best of the entries held for the agent that it can take now, with its rank:
        held for it alone, each ranks among the rest as they do, and goes first among
        equals."""
        reserved = self._reserved.get(agent.agent_id)
        if reserved is None:
            return None
        best: tuple[_Rank, QueueEntry] | None = None
        for (queue, channel), line in list(reserved.items()):
            head = line.top()
            if head is None:
                del reserved[(queue, channel)]
                continue
            if not agent.can_take(channel):
                continue
            undeclined = self._undeclined(agent.agent_id, line, head, declined)
            membership = agent.memberships.get(queue)
            candidate = undeclined or head
            priority = membership.priority if membership else 0
            rank = (undeclined is None, priority, -candidate.priority, candidate.enqueued_at, "")
            if best is None or rank < best[0]:
                best = (rank, candidate)
        if not reserved:
            del self._reserved[agent.agent_id]
        return best

    def _rebuild_eligible(self, agent: EngineAgent) -> None:
        # Grouped by the part of a rank a bucket fixes (its queue priority for the agent, the
        # entries' priority negated), the groups in that order; within one, ranks never tie.
        groups: dict[tuple[int, int], list[tuple[str, float, int]]] = {}
        for membership in agent.memberships.values():
            for key in self._queue_buckets.get(membership.queue, ()):
                _, channel, priority, skills = key
                if agent.capacity.get(channel, 0) and agent.has_skills(skills):
                    bucket = (channel, membership.delay_seconds, self._bucket_at[key])
                    groups.setdefault((membership.priority, -priority), []).append(bucket)
        # Tuples of strings and numbers: the garbage collector stops tracking them (lists it
        # would walk at every full collection, a few per agent).
        agent.eligible = tuple((*group, tuple(buckets)) for group, buckets in sorted(groups.items()))

    def _undeclined(self, agent_id: str, line: Line[_K], head: QueueEntry, declined: Declined) -> QueueEntry | None:
        """The line's best entry the agent has not declined, ``head`` being its best (None
        if it declined all it looked at). The entries it declined are set aside to see what
        is behind them and put back, so one agent's declines never hide anything from others."""
        if agent_id not in declined.get(head.interaction_id, ()):
            return head
        aside = [line.pop()]
        undeclined = None
        while len(aside) <= PEEK_PAST_DECLINED and (entry := line.top()) is not None:
            if agent_id not in declined.get(entry.interaction_id, ()):
                undeclined = entry
                break
            aside.append(line.pop())
        for item in aside:
            line.push(item)
        return undeclined
