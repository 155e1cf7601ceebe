-- stats(now) -> per (queue, channel): waiting, longest wait, agents by state, occupancy
-- (a view: it reads the queues' heads and every agent)
local now = tonumber(ARGV[3])
local STATES = { 'offline', 'available', 'away', 'wrap_up' }

-- Per queue, in one pass over the agents: their states, and the load of those signed in.
local staffing = {}
for _, id in ipairs(redis.call('ZRANGE', k_agents(), 0, -1)) do
  local a = get_agent(id)
  local load = a.state ~= 'offline' and occupancy(a) or nil
  for _, m in ipairs(a.profile.queues) do
    local staff = staffing[m.queue]
    if staff == nil then
      staff = { by_state = { offline = 0, available = 0, away = 0, wrap_up = 0 }, load = 0.0, signed_in = 0 }
      staffing[m.queue] = staff
    end
    staff.by_state[a.state] = staff.by_state[a.state] + 1
    if load then staff.load, staff.signed_in = staff.load + load, staff.signed_in + 1 end
  end
end

local function oldest(queue, channel)
  local times = {}
  local buckets = redis.call('HGETALL', k_buckets(queue))
  for i = 1, #buckets, 2 do
    if cjson.decode(buckets[i + 1])[1] == channel then
      times[#times + 1] = tonumber(redis.call('ZRANGE', k_bucket(queue, buckets[i]), 0, 0, 'WITHSCORES')[2])
    end
  end
  for _, iid in ipairs(redis.call('SMEMBERS', k_reserved_in(queue))) do
    local e = load_entry(iid)
    if e.channel == channel then times[#times + 1] = e.enqueued_at end
  end
  local first
  for _, at in ipairs(times) do
    if first == nil or at < first then first = at end
  end
  return first
end

local pairs_seen, rows = {}, {}
local function add(queue, channel)
  local key = queue .. '\0' .. channel
  if pairs_seen[key] then return end
  pairs_seen[key] = true
  local first = oldest(queue, channel)
  local staff = staffing[queue]
  local row = { key = key, queue, channel, tonumber(redis.call('HGET', k_counts(), key) or 0),
    num(first and now - first or 0) }
  for _, state in ipairs(STATES) do append(row, { state, staff and staff.by_state[state] or 0 }) end
  row[#row + 1] = (staff and staff.signed_in > 0) and num(staff.load / staff.signed_in) or ''
  rows[#rows + 1] = row
end
for _, pair in ipairs(config_part('stat_pairs')) do add(pair[1], pair[2]) end
local counts = redis.call('HKEYS', k_counts())
for _, key in ipairs(counts) do
  local at = string.find(key, '\0', 1, true)
  add(string.sub(key, 1, at - 1), string.sub(key, at + 1))
end
table.sort(rows, function(x, y) return bytes_lt(x.key, y.key) end)
for _, row in ipairs(rows) do row.key = nil end
return records(rows)
