-- The agents ready to take work: per (queue, channel, required skills) a pool, per membership
-- delay a sorted set of its agents by the queue's strategy, kept up by reindex() at every
-- change of an agent. An entry reads only the pools of its own skills whose delay it has
-- waited out; a pool is made the first time an entry asks for it, from the queue's members.

local function open_pool(queue, channel, skills, pool_id)
  redis.call('HSET', k_pools(queue), pool_id, cjson.encode({ channel, skills }))
  local pool, queue_policy = { channel, skills }, policy(queue)
  for _, id in ipairs(redis.call('SMEMBERS', k_members(queue))) do
    local a = get_agent(id)
    local membership = a.profile.membership[queue]
    join_pool(a, membership, pool_id, pool, room(a), rank_member(a, queue_policy))
  end
end

local function best_ready(e, now)
  -- The best ready agent's id for the entry; one that declined it only when no other is.
  flush() -- the pools as this call's changes left them
  local declined, n_declined = {}, 0
  for _, id in ipairs(redis.call('SMEMBERS', k_declined(e.iid))) do
    declined[id], n_declined = true, n_declined + 1
  end
  local id_at = rank_width(policy(e.queue)) + 1
  local pool_id = e.channel .. '|' .. skills_sig(e.skills)
  if redis.call('HEXISTS', k_pools(e.queue), pool_id) == 0 then open_pool(e.queue, e.channel, e.skills, pool_id) end
  local best, fallback
  local delays = redis.call('HKEYS', k_delays(e.queue))
  for _, delay in ipairs(delays) do
    if not (e.enqueued_at > now - tonumber(delay)) then
      local key = k_ready(e.queue, pool_id, delay)
      -- Past every agent that declined it, at most.
      local members = redis.call('ZRANGE', key, 0, n_declined)
      for _, member in ipairs(members) do
        local id = string.sub(member, id_at)
        if declined[id] then
          if fallback == nil or bytes_lt(member, fallback) then fallback = member end
        else
          if best == nil or bytes_lt(member, best) then best = member end
          break
        end
      end
    end
  end
  local found = best or fallback
  return found and string.sub(found, id_at)
end
