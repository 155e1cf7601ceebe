-- tick(now[, claim]) -> the events of the timers due by now, kind first in each; with a
-- claim, kept under it until recorded (recorded.lua), for another instance to take up
-- should this one die first (unrecorded.lua)
local now = tonumber(ARGV[3])
local events = {}

local function each_due(key, budget)
  -- The kind's timers due by now, earliest first, each taken out as it comes (so one set
  -- while iterating comes too if due), at most budget of them if given: timer, time.
  return function()
    if budget then
      if budget == 0 then return nil end
      budget = budget - 1
    end
    local top = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if top[1] == nil or tonumber(top[2]) > now then return nil end
    redis.call('ZREM', key, top[1])
    return top[1], tonumber(top[2])
  end
end

local function current(iid)
  -- The interaction's entry while it is waiting or out on offer.
  local e = load_entry(iid)
  if e and (e.status == 'waiting' or e.status == 'offered') then return e end
  return nil
end

-- Offers lapse; an agent missing too many in a row is set away and its other offers revoked.
for timer in each_due(k_offer_timers()) do
  local o = get_offer(subject_of(timer))
  if o then
    local wire = return_offer(o, now)
    local a = get_agent(o.agent)
    redis.call('SADD', k_declined(o.iid), a.id)
    a.missed = a.missed + 1
    mark(a)
    local away = a.missed >= config().max_missed_offers and a.state == 'available'
    events[#events + 1] = append({ 'lapsed', away and '1' or '0' }, wire)
    if away then
      set_state(a, 'away', '+missed')
      for _, revoked in ipairs(return_open_offers(a, now, {})) do
        events[#events + 1] = append({ 'revoked' }, revoked)
      end
    end
  end
end

-- Answer deadlines pass: reported once, and the next escalation step applies at once.
for timer, deadline in each_due(k_answer_timers()) do
  local e = current(subject_of(timer))
  if e and not e.breached and e.deadline == deadline then
    local breached = copy_entry(e)
    breached.breached = true
    replace(e, breached, now)
    events[#events + 1] = append({ 'breached' }, wire_of(breached))
    if breached.status == 'waiting' and breached.done < #policy(breached.queue).escalation then
      apply_step(breached, now, events)
    end
  end
end

-- Escalation steps: only those due before this phase began, so that queues overflowing into
-- each other cannot spin (a step scheduling another already due waits for the next tick).
local budget = redis.call('ZCOUNT', k_escalation_timers(), '-inf', now)
for timer, at in each_due(k_escalation_timers(), budget) do
  -- The entry's id, and the queue and step it was at when the timer was set.
  local iid_end = string.find(timer, '\0', 1, true)
  local queue_end = string.find(timer, '\0', iid_end + 1, true)
  local iid, queue = string.sub(timer, 1, iid_end - 1), string.sub(timer, iid_end + 1, queue_end - 1)
  local e = current(iid)
  -- A timer of an earlier queue or step is void; one of an entry out on offer too: if the
  -- offer comes back, placing the entry again sets it again.
  if e and e.queue == queue and enc(e.done) == string.sub(timer, queue_end + 1, queue_end + 8)
    and e.status == 'waiting' and next_step_due(e) == at then
    apply_step(e, now, events)
  end
end

-- Preferred-agent windows end: anyone eligible may take the entry.
for timer in each_due(k_preference_timers()) do
  local e = current(subject_of(timer))
  if e and e.status == 'waiting' and e.holder and e.preferred_until <= now then
    local released = copy_entry(e)
    released.preferred, released.preferred_until = nil, 0
    replace(e, released, now)
    events[#events + 1] = append({ 'preference' }, wire_of(released))
  end
end

-- Wrap-up periods end (an extended one at its new end only).
for timer, at in each_due(k_wrap_up_timers()) do
  local id = subject_of(timer)
  local a = get_agent(id)
  if a and a.state == 'wrap_up' and a.wrap_up_until == at then
    set_state(a, 'available', a.reason)
    if #a.holding == 0 then a.idle_since = now end
    touch(a)
    events[#events + 1] = { 'wrap_up', id }
  end
end

-- Agents with a per-queue delay may have become eligible as contacts aged.
for _, id in ipairs(redis.call('ZRANGE', k_delayed(), 0, -1)) do
  if get_agent(id).state == 'available' then redis.call('RPUSH', k_pending_agents(), id) end
end
flush()
local out = records(events)
if ARGV[4] and #events > 0 then
  redis.call('HSET', k_fired(), ARGV[4], ARGV[3] .. '\1' .. out)
  redis.call('ZADD', k_fired_at(), now, ARGV[4])
end
return out
