-- The waiting entries: each in its bucket (queue, channel, priority, skills) by enqueued_at,
-- or in a line of the agent it is held for by its order key, so that finding the best one
-- for an agent reads the heads of its queues' buckets, never a whole queue.

-- Declines per agent are few: looking past at most this many in one line keeps a decision
-- cheap even for an agent that rejects everything (routing/waiting.py PEEK_PAST_DECLINED).
local PEEK_PAST_DECLINED = 16

local function load_entry(iid)
  local h = hash_of(redis.call('HGETALL', k_entry(iid)))
  if h.data == nil then return nil end
  local e = entry_of(split(h.data))
  e.data, e.order, e.status, e.slot, e.member, e.bucket, e.holder, e.offer, e.agent =
    h.data, h.order, h.status, h.slot, h.member, h.bucket, h.holder, h.offer, h.agent
  return e
end

local function save_entry(e)
  local key = k_entry(e.iid)
  redis.call('DEL', key)
  -- The order key beside the data, so that a view sorts entries without reading them.
  local fields = { 'data', data_of(e), 'order', order_member(e), 'status', e.status }
  for _, name in ipairs({ 'slot', 'member', 'bucket', 'holder', 'offer', 'agent' }) do
    if e[name] ~= nil then append(fields, { name, e[name] }) end
  end
  redis.call('HSET', key, unpack(fields))
end

local function declined_by(iid, agent_id)
  return redis.call('SISMEMBER', k_declined(iid), agent_id) == 1
end

local function count_waiting(e, n)
  local sizes, counts, pair = k_sizes(), k_counts(), e.queue .. '\0' .. e.channel
  if redis.call('HINCRBY', sizes, e.queue, n) <= 0 then redis.call('HDEL', sizes, e.queue) end
  if redis.call('HINCRBY', counts, pair, n) <= 0 then redis.call('HDEL', counts, pair) end
end

local function place_waiting(e, holder)
  -- Into its bucket, or the line of the agent it is held for.
  e.status, e.offer, e.agent = 'waiting', nil, nil
  if holder then
    e.slot, e.member, e.bucket, e.holder = k_reserved(holder, e.queue, e.channel), order_member(e), nil, holder
    redis.call('ZADD', e.slot, 0, e.member)
    redis.call('HSET', k_reserved_lines(holder), e.queue .. '|' .. e.channel, cjson.encode({ e.queue, e.channel }))
    redis.call('SADD', k_reserved_in(e.queue), e.iid)
  else
    local id = e.channel .. '|' .. num(e.priority) .. '|' .. skills_sig(e.skills)
    e.slot, e.member, e.bucket, e.holder = k_bucket(e.queue, id), e.iid, id, nil
    redis.call('HSET', k_buckets(e.queue), id, cjson.encode({ e.channel, e.priority, e.skills }))
    redis.call('ZADD', e.slot, e.enqueued_at, e.iid)
  end
  count_waiting(e, 1)
  save_entry(e)
end

local function remove_waiting(e)
  -- Out of where it waits (the caller saves or deletes the entry).
  redis.call('ZREM', e.slot, e.member)
  local empty = redis.call('EXISTS', e.slot) == 0
  if e.holder then
    redis.call('SREM', k_reserved_in(e.queue), e.iid)
    if empty then redis.call('HDEL', k_reserved_lines(e.holder), e.queue .. '|' .. e.channel) end
  elseif empty then
    redis.call('HDEL', k_buckets(e.queue), e.bucket)
  end
  count_waiting(e, -1)
  e.slot, e.member, e.bucket, e.holder = nil, nil, nil, nil
end

local function undeclined(agent_id, ids)
  -- The first of a line's first ids the agent has not declined, and its index.
  for i, iid in ipairs(ids) do
    if not declined_by(iid, agent_id) then return iid, i end
  end
  return nil
end

local function best_in_buckets(a, r, now)
  -- The best bucketed entry for the agent with its rank: (declined by it, its queue priority,
  -- the entry's priority negated, enqueued_at, id), as WaitingEntries.best_for ranks them.
  local best
  for _, m in ipairs(a.profile.queues) do
    local buckets = redis.call('HGETALL', k_buckets(m.queue))
    for i = 1, #buckets, 2 do
      local info = cjson.decode(buckets[i + 1]) -- channel, priority, skills
      if r[info[1]] and has_skills(a.profile.skills, info[3]) then
        local key = k_bucket(m.queue, buckets[i])
        local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
        local iid, at = head[1], tonumber(head[2])
        if iid and not (m.delay ~= 0 and at > now - m.delay) then
          local refused = false
          if declined_by(iid, a.id) then
            local line = redis.call('ZRANGE', key, 0, PEEK_PAST_DECLINED, 'WITHSCORES')
            local ids = {}
            for j = 1, #line, 2 do ids[#ids + 1] = line[j] end
            local found, j = undeclined(a.id, ids)
            local found_at = found and tonumber(line[2 * j])
            if found and not (m.delay ~= 0 and found_at > now - m.delay) then
              iid, at = found, found_at
            else
              refused = true
            end
          end
          local rank = { refused and 1 or 0, m.priority, -info[2], at, iid }
          if best == nil or rank_lt(rank, best.rank) then best = { rank = rank, iid = iid } end
        end
      end
    end
  end
  return best
end

local function best_reserved(a, r)
  -- The best entry held for the agent that it can take now, with its rank: held for it alone,
  -- it ranks among the rest as they do, and goes first among equals (its tie-break is "").
  local best
  local lines = redis.call('HVALS', k_reserved_lines(a.id))
  for _, json in ipairs(lines) do
    local line = cjson.decode(json) -- queue, channel
    if r[line[2]] then
      local members = redis.call('ZRANGE', k_reserved(a.id, line[1], line[2]), 0, PEEK_PAST_DECLINED)
      local ids = {}
      for j, member in ipairs(members) do ids[j] = id_of_order_member(member) end
      local found = undeclined(a.id, ids)
      local candidate = load_entry(found or ids[1])
      local membership = a.profile.membership[line[1]]
      local rank = {
        found and 0 or 1, membership and membership.priority or 0, -candidate.priority, candidate.enqueued_at, '',
      }
      if best == nil or rank_lt(rank, best.rank) then best = { rank = rank, iid = candidate.iid } end
    end
  end
  return best
end

local function best_for(a, now)
  -- The id of the best waiting entry for the agent, or nil.
  local r = room(a)
  if next(r) == nil then return nil end
  local bucketed, reserved = best_in_buckets(a, r, now), best_reserved(a, r)
  if bucketed and (reserved == nil or rank_lt(bucketed.rank, reserved.rank)) then return bucketed.iid end
  return reserved and reserved.iid
end
