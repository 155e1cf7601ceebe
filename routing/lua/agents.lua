-- Agents as the scripts see them: read once per call into AGENTS, changed there, and written
-- back (and re-indexed in the ready pools) by flush() before the call returns.

local AGENTS = {} -- id -> agent, or false when there is none
local DIRTY = {}  -- agents changed in this call, in the order first changed

local function policy(queue)
  return config_part('policy:' .. queue) or config_part('default_policy')
end

local function decode_profile(json)
  local p = cjson.decode(json)
  local profile = { json = json, queues = {}, membership = {}, skills = {}, capacity = p.capacity, exclusive = {} }
  for _, m in ipairs(p.queues) do
    local membership = { queue = m[1], priority = m[2], delay = m[3] }
    profile.queues[#profile.queues + 1] = membership
    profile.membership[m[1]] = membership
  end
  for _, s in ipairs(p.skills) do profile.skills[s[1]] = s[2] end
  for _, channel in ipairs(p.exclusive) do profile.exclusive[channel] = true end
  return profile
end

local function mark(a)
  if not a.dirty then
    a.dirty = true
    DIRTY[#DIRTY + 1] = a
  end
end

local function count_held(a)
  a.held = {}
  for _, h in ipairs(a.holding) do a.held[h[2]] = (a.held[h[2]] or 0) + 1 end
end

local function get_agent(id)
  local a = AGENTS[id]
  if a ~= nil then return a or nil end
  local h = hash_of(redis.call('HGETALL', k_agent(id)))
  if h.profile == nil then
    AGENTS[id] = false
    return nil
  end
  a = {
    id = id, profile = decode_profile(h.profile), state = h.state, reason = h.reason,
    idle_since = tonumber(h.idle_since), missed = tonumber(h.missed), wrap_up_until = tonumber(h.wrap_up_until),
    last_seq = tonumber(h.last_seq), exclusive_held = tonumber(h.exclusive_held), holding = cjson.decode(h.holding),
  }
  count_held(a)
  AGENTS[id] = a
  return a
end

local function add_memberships(a, sign)
  -- The queue registries an agent's profile puts it in (sign 1) or takes it out of (-1).
  local delayed = false
  for _, m in ipairs(a.profile.queues) do
    if sign > 0 then redis.call('SADD', k_members(m.queue), a.id) else redis.call('SREM', k_members(m.queue), a.id) end
    local delays, delay = k_delays(m.queue), num(m.delay)
    if redis.call('HINCRBY', delays, delay, sign) <= 0 then redis.call('HDEL', delays, delay) end
    delayed = delayed or m.delay ~= 0
  end
  if sign > 0 and delayed then
    redis.call('ZADD', k_delayed(), a.order, a.id)
  elseif sign < 0 then
    redis.call('ZREM', k_delayed(), a.id)
  end
end

local function new_agent(id, profile_json, idle_since)
  local a = {
    id = id, profile = decode_profile(profile_json), state = 'offline', reason = '', idle_since = idle_since,
    missed = 0, wrap_up_until = 0, last_seq = 0, exclusive_held = 0, holding = {}, held = {},
    order = redis.call('INCR', k_agent_seq()), new_profile = true,
  }
  redis.call('ZADD', k_agents(), a.order, id)
  add_memberships(a, 1)
  AGENTS[id] = a
  mark(a)
  return a
end

local function set_profile(a, profile_json)
  if a.profile.json == profile_json then return end
  a.order = redis.call('ZSCORE', k_agents(), a.id)
  add_memberships(a, -1)
  a.profile, a.new_profile = decode_profile(profile_json), true
  add_memberships(a, 1)
  mark(a)
end

local function set_state(a, state, reason)
  a.state, a.reason = state, reason
  mark(a)
end

local function room(a)
  -- The channels it may take work on now: EngineAgent.room, as a set.
  local r = {}
  if a.state ~= 'available' or a.exclusive_held > 0 then return r end
  local busy = #a.holding > 0
  for _, c in ipairs(a.profile.capacity) do
    if not (busy and a.profile.exclusive[c[1]]) and (a.held[c[1]] or 0) < c[2] then r[c[1]] = true end
  end
  return r
end

local function hold(a, iid, channel)
  a.holding[#a.holding + 1] = { iid, channel }
  a.held[channel] = (a.held[channel] or 0) + 1
  if a.profile.exclusive[channel] then a.exclusive_held = a.exclusive_held + 1 end
  mark(a)
end

local function drop(a, iid, now)
  for i, h in ipairs(a.holding) do
    if h[1] == iid then
      table.remove(a.holding, i)
      a.held[h[2]] = a.held[h[2]] - 1
      if a.profile.exclusive[h[2]] then a.exclusive_held = a.exclusive_held - 1 end
      if #a.holding == 0 then a.idle_since = now end
      mark(a)
      return
    end
  end
end

local function holding_ids(a)
  local ids = {}
  for i, h in ipairs(a.holding) do ids[i] = h[1] end
  return ids
end

local function occupancy(a)
  -- The busiest channel's share of its capacity (an exclusive channel fills it).
  if a.exclusive_held > 0 then return 1.0 end
  local busiest = 0.0
  for _, c in ipairs(a.profile.capacity) do
    if c[2] ~= 0 then
      local share = (a.held[c[1]] or 0) / c[2]
      if share > busiest then busiest = share end
    end
  end
  return busiest
end

local function rank_member(a, queue_policy)
  -- The agent's place in a ready pool, smaller first: EngineAgent.ready_item.
  local strategy = queue_policy.strategy
  if strategy == 'most_skilled' then
    local score = 0
    for _, skill in ipairs(queue_policy.skills) do score = score - (a.profile.skills[skill] or 0) end
    return enc(score) .. enc(a.idle_since) .. a.id
  elseif strategy == 'least_occupied' then
    return enc(occupancy(a)) .. enc(a.idle_since) .. a.id
  elseif strategy == 'round_robin' then
    return enc(a.last_seq) .. a.id
  end
  return enc(a.idle_since) .. a.id
end

local function rank_width(queue_policy)
  -- How many bytes of rank_member's come before the agent id.
  local strategy = queue_policy.strategy
  return (strategy == 'most_skilled' or strategy == 'least_occupied') and 16 or 8
end

local function join_pool(a, membership, pool_id, pool, r, member)
  -- Into the pool if it may take its entries now; member is its rank in the queue.
  if r[pool[1]] and has_skills(a.profile.skills, pool[2]) then
    local delay = num(membership.delay)
    redis.call('ZADD', k_ready(membership.queue, pool_id, delay), 0, member)
    redis.call('HSET', k_ranks(a.id), membership.queue, delay .. '|' .. member)
  end
end

local function reindex(a)
  -- Out of every pool it was in, then into those it may take work from now, at its rank now.
  local ranks = k_ranks(a.id)
  local old = redis.call('HGETALL', ranks)
  for i = 1, #old, 2 do
    local bar = string.find(old[i + 1], '|', 1, true)
    local delay, member = string.sub(old[i + 1], 1, bar - 1), string.sub(old[i + 1], bar + 1)
    for _, pool_id in ipairs(redis.call('HKEYS', k_pools(old[i]))) do
      redis.call('ZREM', k_ready(old[i], pool_id, delay), member)
    end
  end
  redis.call('DEL', ranks)
  local r = room(a)
  if next(r) == nil then return end
  for _, m in ipairs(a.profile.queues) do
    local pools = redis.call('HGETALL', k_pools(m.queue))
    if #pools > 0 then
      local member = rank_member(a, policy(m.queue))
      for i = 1, #pools, 2 do join_pool(a, m, pools[i], cjson.decode(pools[i + 1]), r, member) end
    end
  end
end

local function save_agent(a)
  -- Every field but the profile, which is most of the hash and seldom changes: it is written
  -- only when it did.
  local fields = { 'state', a.state, 'reason', a.reason, 'idle_since', num(a.idle_since), 'missed', a.missed,
    'wrap_up_until', num(a.wrap_up_until), 'last_seq', a.last_seq, 'exclusive_held', a.exclusive_held,
    'holding', pairs_json(a.holding) }
  if a.new_profile then
    append(fields, { 'profile', a.profile.json })
    a.new_profile = false
  end
  redis.call('HSET', k_agent(a.id), unpack(fields))
end

local function flush()
  for i, a in ipairs(DIRTY) do
    save_agent(a)
    reindex(a)
    a.dirty = false
    DIRTY[i] = nil
  end
end

local function touch(a)
  -- After any change to the agent: if available, it looks for work.
  if a.state == 'available' then redis.call('RPUSH', k_pending_agents(), a.id) end
end
