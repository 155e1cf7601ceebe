-- What the decisions share: placing an entry (with its timers), making, closing and returning
-- offers, freeing an agent, escalation steps. As routing/memory.py, step for step.

local function offer_timeout(channel)
  return config().offer_timeouts[channel] or config().default_offer_timeout
end

local function next_step_due(e)
  -- When the entry's next escalation step in its queue applies; nil after the last.
  local steps = policy(e.queue).escalation
  if e.done >= #steps then return nil end
  return (e.base or e.enqueued_at) + steps[e.done + 1].after
end

local function escalated(e, now)
  -- The entry once its next step in its queue has applied (routing/escalation.py).
  local step = policy(e.queue).escalation[e.done + 1]
  local after = copy_entry(e)
  local overflow = step.overflow ~= nil and step.overflow ~= e.queue
  local skills = {}
  for _, s in ipairs(e.skills) do
    if s[2] - step.relax > 0 then skills[#skills + 1] = { s[1], s[2] - step.relax } end
  end
  after.skills, after.priority = skills, e.priority + step.raise
  if overflow then
    after.queue, after.done, after.base = step.overflow, 0, now
  else
    after.done = e.done + 1
  end
  return after
end

local function push_pending(e)
  -- One member per push, as the in-memory engine's heap holds one item per push: an entry
  -- pushed twice is looked at twice.
  redis.call('ZADD', k_pending_entries(), 0, order_member(e) .. '\0' .. redis.call('INCR', k_push_seq()))
end

local function pending_id(member)
  return string.sub(member, 17, string.find(member, '\0', 17, true) - 1)
end

local function place(e, now)
  -- Waiting at its place, with its timers, looking for an agent.
  local holder = (e.preferred and e.preferred_until > now) and e.preferred or nil
  place_waiting(e, holder)
  if holder then
    local a = get_agent(holder) or new_agent(holder, config().default_profile, now)
    set_timer(k_preference_timers(), e.preferred_until, e.iid)
    if a.state == 'available' then redis.call('RPUSH', k_pending_agents(), holder) end
  end
  push_pending(e)
  if e.deadline and not e.breached then set_timer(k_answer_timers(), e.deadline, e.iid) end
  local due = next_step_due(e)
  if due then
    -- Every placing sets one more, as the in-memory engine's heap holds one per push: tick
    -- takes as many as were due when its escalation phase began, these included.
    local member = e.iid .. '\0' .. e.queue .. '\0' .. enc(e.done) .. redis.call('INCR', k_push_seq())
    redis.call('ZADD', k_escalation_timers(), due, member)
  end
end

local function offer_wire(offer_id, agent_id, expires_at, e)
  return { offer_id, agent_id, num(expires_at), data_of(e) }
end

local function get_offer(offer_id)
  local h = hash_of(redis.call('HGETALL', k_offer(offer_id)))
  if h.agent == nil then return nil end
  return { id = offer_id, agent = h.agent, iid = h.iid, expires_at = tonumber(h.expires_at) }
end

local function open_offer(offer_id, e, a, expires_at)
  redis.call('HSET', k_offer(offer_id), 'agent', a.id, 'iid', e.iid, 'expires_at', num(expires_at))
  set_timer(k_offer_timers(), expires_at, offer_id)
  e.status, e.offer, e.agent = 'offered', offer_id, a.id
  save_entry(e)
  hold(a, e.iid, e.channel)
end

local function make_offer(offer_id, e, a, now)
  remove_waiting(e)
  local expires_at = now + offer_timeout(e.channel)
  open_offer(offer_id, e, a, expires_at)
  a.last_seq = redis.call('INCR', k_offer_seq())
  return offer_wire(offer_id, a.id, expires_at, e)
end

local function close_offer(o)
  redis.call('DEL', k_offer(o.id))
end

local function free(a, iid, now)
  drop(a, iid, now)
  touch(a)
end

local function return_offer(o, now)
  -- The offer taken back: its entry back in its place, its agent freed. Its wire.
  close_offer(o)
  local e = load_entry(o.iid)
  local wire = offer_wire(o.id, o.agent, o.expires_at, e)
  place(e, now)
  free(get_agent(o.agent), o.iid, now)
  return wire
end

local function return_open_offers(a, now, wires)
  -- Each open offer the agent holds, returned; their wires appended to wires.
  for _, iid in ipairs(holding_ids(a)) do
    local e = load_entry(iid)
    if e and e.status == 'offered' then wires[#wires + 1] = return_offer(get_offer(e.offer), now) end
  end
  return wires
end

local function forget(iid)
  -- The interaction leaves routing: nothing of it stays.
  redis.call('DEL', k_entry(iid), k_declined(iid))
end

local function replace(old, new, now)
  -- The changed entry where the old one stood: on offer, or waiting (placed again).
  if old.status == 'offered' then
    save_entry(new)
  else
    remove_waiting(old)
    place(new, now)
  end
end

local function apply_step(e, now, events)
  local after = escalated(e, now)
  replace(e, after, now)
  events[#events + 1] = append(append({ 'escalated' }, wire_of(e)), wire_of(after))
  return after
end

local function offer_next(offer_id, now)
  -- The next offer the state allows, made (its agent's change not flushed yet), or nil
  -- when nothing matches: a pending entry's best agent first, then a pending agent's best
  -- entry.
  local pending_entries, pending_agents = k_pending_entries(), k_pending_agents()
  while true do
    local popped = redis.call('ZPOPMIN', pending_entries)
    if popped[1] == nil then break end
    local e = load_entry(pending_id(popped[1]))
    if e and e.status == 'waiting' then
      local agent_id
      if e.holder then
        agent_id = room(get_agent(e.holder))[e.channel] and e.holder
      else
        agent_id = best_ready(e, now)
      end
      if agent_id then
        -- The queue's strategy chose the agent; the agent's own queue priorities and the
        -- queues' order choose what it takes, which may be something older.
        local a = get_agent(agent_id)
        local best = best_for(a, now)
        if best and best ~= e.iid then
          push_pending(e)
          e = load_entry(best)
        end
        return make_offer(offer_id, e, a, now)
      end
    end
  end
  while true do
    local id = redis.call('LPOP', pending_agents)
    if not id then break end
    local a = get_agent(id)
    if next(room(a)) ~= nil then
      local best = best_for(a, now)
      if best then
        -- It may take more: look again next time.
        redis.call('LPUSH', pending_agents, id)
        return make_offer(offer_id, load_entry(best), a, now)
      end
    end
  end
  return nil
end
