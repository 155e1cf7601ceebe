-- next_offer(now, offer id) -> the offer made, or nil when nothing matches
local now, offer_id = tonumber(ARGV[3]), ARGV[4]
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
      local offer = make_offer(offer_id, e, a, now)
      flush()
      return record(offer)
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
      local offer = make_offer(offer_id, load_entry(best), a, now)
      flush()
      return record(offer)
    end
  end
end
return false
